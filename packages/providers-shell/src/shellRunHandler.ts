import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type CapabilityContext, CapabilityError } from '@capsule/provider-sdk'
import { bwrapArgs } from './bwrapSandbox.js'
import { buildEnvironment } from './envPolicy.js'
import { findHiddenPaths, type HiddenMask, hiddenMaskArgs } from './hiddenPaths.js'
import { GIT_OWN_NAMES, prepareGitRun } from './presets/gitRun.js'
import { newRunToken, type RunOutcome, runCommand } from './runCommand.js'
import { type CheckedShellCall, checkShellCall } from './shellCallChecks.js'
import type { ShellRunArgs, ShellRunResult } from './shellRunSchemas.js'
import type { ShellSetup } from './shellSetup.js'

/** The handler of `shell.run`: checks a call, then runs it within the session's concurrency cap. */
export function createShellRunHandler(
  setup: ShellSetup,
): (args: ShellRunArgs, ctx: CapabilityContext) => Promise<ShellRunResult> {
  const { maxConcurrentPerSession } = setup.options
  const running = new Map<string, number>()

  return async (args, ctx) => {
    const call = checkShellCall(args, setup)
    if (ctx.signal.aborted) throw new CapabilityError('CANCELLED', 'the call was cancelled')

    const active = running.get(ctx.sessionId) ?? 0
    if (active >= maxConcurrentPerSession) {
      throw new CapabilityError(
        'LIMIT_EXCEEDED',
        `this session already runs ${active} commands; the limit is ${maxConcurrentPerSession}`,
      )
    }
    running.set(ctx.sessionId, active + 1)
    try {
      return await runCheckedCall(call, setup, ctx)
    } finally {
      const left = (running.get(ctx.sessionId) ?? 1) - 1
      if (left === 0) running.delete(ctx.sessionId)
      else running.set(ctx.sessionId, left)
    }
  }
}

// Runs the command (after a git preflight for the git preset) in the sandbox chosen at configuration,
// under the tighter of the provider's, the caller's and the call deadline's time caps.
async function runCheckedCall(
  call: CheckedShellCall,
  setup: ShellSetup,
  ctx: CapabilityContext,
): Promise<ShellRunResult> {
  const { options, roots, sandbox, hidden } = setup
  const { command, argv, cwd, overrides } = call
  // Outside a sandbox HOME is a private empty directory per run, never a root Python can write
  // dotfiles into, and nothing one command leaves there is seen by the next; it is removed after the run.
  const home = sandbox.kind === 'none' ? mkdtempSync(path.join(tmpdir(), 'capsule-shell-home-')) : '/tmp'
  const startedAt = Date.now()
  const timeoutMs = Math.max(
    1,
    Math.min(options.timeoutMs, call.requestedTimeoutMs, ctx.deadline - startedAt),
  )
  try {
    // Hidden paths (.env, .git, keys…) do not exist for the command: masked in the sandbox.
    const scan = { maxEntries: options.maxHiddenScanEntries }
    let masks: readonly HiddenMask[] | undefined
    if (sandbox.kind === 'bwrap') {
      const exemptNames = command.preset === 'git' ? GIT_OWN_NAMES : undefined
      masks = await findHiddenPaths(roots, hidden, { ...scan, exemptNames })
    }
    const exec = (
      programArgs: readonly string[],
      extraEnv: Record<string, string>,
      input?: Uint8Array,
      limitMs = timeoutMs,
      runMasks = masks,
    ) => {
      const runToken = newRunToken()
      const env = buildEnvironment(
        { path: setup.searchPath, home, allowed: setup.allowedValues },
        overrides,
        extraEnv,
        runToken,
      )
      const wrapped =
        sandbox.kind === 'bwrap'
          ? {
              file: sandbox.bwrap,
              args: [
                ...bwrapArgs({
                  roots,
                  network: options.network,
                  cwd,
                  program: command.program,
                  masks: hiddenMaskArgs(runMasks ?? []),
                }),
                command.program,
                ...programArgs,
              ],
            }
          : { file: command.program, args: [...programArgs] }
      // A root host's command gets its unprivileged uid here, and bwrap its seccomp program on fd 3.
      const sandboxed = sandbox.kind === 'bwrap' ? sandbox.runner.start() : undefined
      const run = runCommand({
        ...wrapped,
        cwd,
        env,
        runToken,
        stdin: input,
        timeoutMs: limitMs,
        maxOutputBytes: options.maxOutputBytes,
        signal: ctx.signal,
        ...sandboxed?.spawn,
      })
      return sandboxed ? run.finally(() => sandboxed.done()) : run
    }
    let programArgs = argv.slice(1)
    let extraEnv: Record<string, string> = {}
    if (command.preset === 'git') {
      const plan = await prepareGitRun({
        args: programArgs,
        cwd,
        roots,
        masks,
        hidden,
        scan,
        preflight: async (preflightArgs, env, preflightMasks) => {
          const outcome = await exec(
            preflightArgs,
            env,
            undefined,
            Math.min(timeoutMs, 10_000),
            preflightMasks,
          )
          throwIfKilled(outcome, timeoutMs)
          return outcome
        },
      })
      programArgs = plan.args
      extraEnv = plan.env
      masks = plan.masks
    }
    const outcome = await exec(
      programArgs,
      extraEnv,
      call.stdin,
      Math.max(1, timeoutMs - (Date.now() - startedAt)),
    )
    throwIfKilled(outcome, timeoutMs)
    return {
      args: [...argv],
      returncode: outcome.returncode,
      stdout: outcome.stdout.toString('utf8'),
      stderr: outcome.stderr.toString('utf8'),
      truncated: outcome.truncated,
    }
  } catch (error) {
    if (error instanceof CapabilityError) throw error
    throw new CapabilityError('UNAVAILABLE', `could not start ${command.name}`, { cause: error })
  } finally {
    if (sandbox.kind === 'none') rmSync(home, { recursive: true, force: true })
  }
}

function throwIfKilled(outcome: RunOutcome, timeoutMs: number): void {
  if (outcome.killed === 'timeout') {
    throw new CapabilityError('TIMEOUT', `the command did not finish within ${timeoutMs} ms and was killed`)
  }
  if (outcome.killed === 'abort')
    throw new CapabilityError('CANCELLED', 'the call was cancelled; the command was killed')
}

import { mkdtempSync, realpathSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import {
  binary,
  type CapabilityContext,
  CapabilityError,
  defineCapability,
  defineProvider,
  type ProviderDefinition,
} from '@capsule/provider-sdk'
import { buildSeccompFilter } from '@capsule/sandbox'
import { z } from 'zod'
import { checkFlags, scanArgs } from './argvScan.js'
import { bwrapArgs, findBwrap, probeBwrap } from './bwrapSandbox.js'
import { buildEnvironment, forbiddenEnvReason } from './envPolicy.js'
import { findHiddenPaths, type HiddenMask, HiddenPathPolicy, hiddenMaskArgs } from './hiddenPaths.js'
import { type ResolvedRoot, realpathLenient, rootOf } from './pathGuard.js'
import { GIT_OWN_NAMES, prepareGitRun } from './presets/gitRun.js'
import type { PresetContext } from './presets/presetContext.js'
import { PRESET_CHECKS } from './presets/presetRules.js'
import { type ResolvedCommand, resolveCommand } from './resolveCommand.js'
import { newRunToken, type RunOutcome, runCommand } from './runCommand.js'
import {
  configError,
  DEFAULT_SEARCH_PATH,
  type ParsedShellProviderOptions,
  parseShellProviderOptions,
  type ShellProviderOptions,
  shellProviderOptionsSchema,
} from './shellProviderOptions.js'
import {
  checkShellSandboxReach,
  chooseShellSandboxUser,
  representativeIdentity,
  ShellSandboxRunner,
} from './shellSandboxUser.js'

/** Which isolation a shell provider runs its commands in. */
export type ShellSandbox = 'bwrap' | 'none'

/** The input of `shell.run`, in Python parameter order: `run_command(argv, cwd, env, stdin, timeout, check)`. */
export const shellRunInput = z.object({
  argv: z.array(z.string()).min(1),
  cwd: z.string().nullable().optional(),
  env: z.record(z.string(), z.string()).nullable().optional(),
  stdin: z.union([z.string(), binary()]).nullable().optional(),
  /** Seconds, like subprocess.run; never more than the provider's timeoutMs. */
  timeout: z.number().positive().nullable().optional(),
  /** Handled by the Python wrapper (CalledProcessError); the host ignores it. */
  check: z.boolean().optional(),
})

/** The result of `shell.run`: what Python's CompletedProcess holds, plus `truncated`. */
export const shellRunOutput = z.strictObject({
  args: z.array(z.string()),
  returncode: z.number().int(),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.boolean(),
})

const sandboxes = new WeakMap<ProviderDefinition, ShellSandbox>()

/** The sandbox a provider made by {@link shellProvider} runs its commands in, or undefined for other providers. */
export function shellSandboxInForce(provider: ProviderDefinition): ShellSandbox | undefined {
  return sandboxes.get(provider)
}

const denied = (message: string, details?: Record<string, string>) =>
  new CapabilityError('DENIED', message, details === undefined ? {} : { details })

/**
 * The `shell` provider: one capability, `shell.run` (Python `run_command`), at level `trusted`. It
 * runs allowlisted programs resolved at configuration, with argument rules, no shell, a scrubbed
 * environment, cwd and path operands inside the roots, output/time/size/concurrency caps and
 * whole-tree kill, inside bubblewrap when available. Options are checked eagerly: bad options throw
 * ProviderDefinitionError. See the package README for every rule.
 */
export function shellProvider(options: ShellProviderOptions): ProviderDefinition {
  const parsed = parseShellProviderOptions(options)
  const roots = resolveRoots(parsed)
  for (const name of parsed.envAllow) {
    const reason = forbiddenEnvReason(name)
    if (reason !== undefined) configError(`options.envAllow must not list ${name}: ${reason}`)
  }
  const commands = new Map<string, ResolvedCommand>()
  for (const [name, rule] of Object.entries(parsed.commands)) {
    commands.set(name, resolveCommand(name, rule, DEFAULT_SEARCH_PATH, roots))
  }
  const sandbox = chooseSandbox(
    parsed,
    roots,
    [...commands.values()].map((c) => c.program),
  )
  const hidden = new HiddenPathPolicy(parsed.allowHidden)
  // Outside a sandbox HOME is a private empty directory per run, never a root Python can write
  // dotfiles into, and nothing one command leaves there is seen by the next; it is removed after the run.
  const allowedValues: Record<string, string> = {}
  for (const name of parsed.envAllow) {
    const value = process.env[name]
    if (value !== undefined) allowedValues[name] = value
  }
  const searchPath = DEFAULT_SEARCH_PATH.join(':')
  const running = new Map<string, number>()

  async function run(args: z.output<typeof shellRunInput>, ctx: CapabilityContext) {
    const argv = args.argv
    const command = commands.get(argv[0]!) ?? [...commands.values()].find((c) => c.aliases.includes(argv[0]!))
    if (command === undefined) {
      throw denied(
        `command ${JSON.stringify(argv[0])} is not allowed; add it to the shell provider's \`commands\` option to allow it`,
        { rule: 'command', option: 'commands', value: argv[0]! },
      )
    }
    if (argv.some((a) => a.includes('\0')))
      throw new CapabilityError('INVALID_ARGUMENT', 'arguments must not contain NUL')
    const argBytes = argv.reduce((sum, a) => sum + Buffer.byteLength(a) + 1, 0)
    if (argBytes > parsed.maxArgBytes) {
      throw new CapabilityError(
        'LIMIT_EXCEEDED',
        `arguments are ${argBytes} bytes; the limit is ${parsed.maxArgBytes}`,
      )
    }
    const cwd = resolveCwd(args.cwd ?? undefined, roots)
    const overrides = checkEnv(args.env ?? undefined, parsed.envAllow)
    const stdin = typeof args.stdin === 'string' ? Buffer.from(args.stdin, 'utf8') : (args.stdin ?? undefined)
    if (stdin !== undefined && stdin.length > parsed.maxStdinBytes) {
      throw new CapabilityError(
        'LIMIT_EXCEEDED',
        `stdin is ${stdin.length} bytes; the limit is ${parsed.maxStdinBytes}`,
      )
    }
    if (hidden.hides(cwd, roots, 'dir')) {
      throw denied(
        `cwd ${JSON.stringify(args.cwd)} is hidden; list it in the shell provider's \`allowHidden\` option to allow it`,
        { rule: 'hidden', option: 'allowHidden', value: String(args.cwd) },
      )
    }
    const reason = checkArguments(command, argv.slice(1), { cwd, roots, hidden, sandbox: sandbox.kind })
    if (reason !== undefined) {
      throw denied(`${reason} (a rule of the ${JSON.stringify(command.name)} command's preset)`, {
        rule: 'arguments',
        option: `commands.${command.name}`,
      })
    }
    if (ctx.signal.aborted) throw new CapabilityError('CANCELLED', 'the call was cancelled')

    const active = running.get(ctx.sessionId) ?? 0
    if (active >= parsed.maxConcurrentPerSession) {
      throw new CapabilityError(
        'LIMIT_EXCEEDED',
        `this session already runs ${active} commands; the limit is ${parsed.maxConcurrentPerSession}`,
      )
    }
    running.set(ctx.sessionId, active + 1)
    const home = sandbox.kind === 'none' ? mkdtempSync(path.join(tmpdir(), 'capsule-shell-home-')) : '/tmp'
    const startedAt = Date.now()
    const timeoutMs = Math.max(
      1,
      Math.min(
        parsed.timeoutMs,
        args.timeout == null ? Number.POSITIVE_INFINITY : Math.ceil(args.timeout * 1000),
        ctx.deadline - startedAt,
      ),
    )
    try {
      // Hidden paths (.env, .git, keys…) do not exist for the command: masked in the sandbox.
      const scan = { maxEntries: parsed.maxHiddenScanEntries }
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
          { path: searchPath, home, allowed: allowedValues },
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
                    network: parsed.network,
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
          maxOutputBytes: parsed.maxOutputBytes,
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
        stdin,
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
      const left = (running.get(ctx.sessionId) ?? 1) - 1
      if (left === 0) running.delete(ctx.sessionId)
      else running.set(ctx.sessionId, left)
    }
  }

  const provider = defineProvider({
    name: 'shell',
    version: '0.1.0',
    description: `Allowlisted commands without a shell (sandbox: ${sandbox.kind}${sandbox.kind === 'none' && sandbox.why ? `, ${sandbox.why}` : ''}).`,
    configSchema: shellProviderOptionsSchema,
    dispose: () => {
      if (sandbox.kind === 'bwrap') sandbox.runner.dispose()
    },
    capabilities: [
      defineCapability({
        name: 'run',
        python: 'run_command',
        level: 'trusted',
        description: `Run an allowlisted command (${[...commands.keys()].join(', ')}) with an argv list, no shell. Returns a CompletedProcess; output is decoded as UTF-8 with replacement.`,
        input: shellRunInput,
        output: shellRunOutput,
        annotations: { destructive: roots.some((r) => r.write), openWorld: parsed.network },
        pythonResult: 'completed_process',
        // The call deadline must cover the command's own cap plus a git preflight.
        timeoutMs: parsed.timeoutMs + 5_000,
        handler: run,
      }),
    ],
  })
  sandboxes.set(provider, sandbox.kind)
  return provider
}

function throwIfKilled(outcome: RunOutcome, timeoutMs: number): void {
  if (outcome.killed === 'timeout') {
    throw new CapabilityError('TIMEOUT', `the command did not finish within ${timeoutMs} ms and was killed`)
  }
  if (outcome.killed === 'abort')
    throw new CapabilityError('CANCELLED', 'the call was cancelled; the command was killed')
}

function resolveRoots(parsed: ParsedShellProviderOptions): ResolvedRoot[] {
  return parsed.roots.map((root, i) => {
    let real: string
    try {
      real = realpathSync(root.path)
    } catch {
      return configError(`options.roots[${i}].path ${JSON.stringify(root.path)} does not exist`)
    }
    if (!statSync(real).isDirectory())
      configError(`options.roots[${i}].path ${JSON.stringify(root.path)} is not a directory`)
    if (real === '/') configError(`options.roots[${i}].path must not be / (that would expose the whole host)`)
    return { path: real, write: root.write }
  })
}

type SandboxChoice =
  | { kind: 'bwrap'; bwrap: string; runner: ShellSandboxRunner }
  | { kind: 'none'; why?: string }

function chooseSandbox(
  parsed: ParsedShellProviderOptions,
  roots: readonly ResolvedRoot[],
  programs: readonly string[],
): SandboxChoice {
  if (parsed.sandbox === 'none') return { kind: 'none', why: 'chosen by the host' }
  const bwrap = findBwrap(DEFAULT_SEARCH_PATH)
  const truePath =
    ['/usr/bin/true', '/bin/true'].find((p) => realpathLenient(p, '/') !== undefined) ?? '/usr/bin/true'
  // Who the commands are is settled first: a root host that cannot give them another user is an error
  // to fix, never a reason to run them as root.
  const user = bwrap === undefined ? undefined : chooseShellSandboxUser(parsed.sandboxUser, roots)
  const failure =
    bwrap === undefined || user === undefined
      ? 'bwrap not found'
      : probeBwrap(bwrap, truePath, representativeIdentity(user))
  if (failure === undefined && bwrap !== undefined && user !== undefined) {
    checkShellSandboxReach(user, roots, programs)
    return { kind: 'bwrap', bwrap, runner: new ShellSandboxRunner(user, buildSeccompFilter()) }
  }
  if (parsed.sandbox === 'bwrap')
    configError(`options.sandbox is "bwrap" but bubblewrap is unavailable: ${failure}`)
  return { kind: 'none', why: `bubblewrap unavailable: ${failure}` }
}

function resolveCwd(requested: string | undefined, roots: readonly ResolvedRoot[]): string {
  const first = roots[0]!.path
  if (requested === undefined) return first
  const real = realpathLenient(requested, first)
  if (real === undefined || rootOf(real, roots) === undefined)
    throw denied(
      `cwd ${JSON.stringify(requested)} is outside the allowed roots; add a directory holding it to the shell provider's \`roots\` option`,
      { rule: 'roots', option: 'roots' },
    )
  try {
    if (!statSync(real).isDirectory()) throw new Error('not a directory')
  } catch {
    throw new CapabilityError('INVALID_ARGUMENT', `cwd ${JSON.stringify(requested)} is not a directory`)
  }
  return real
}

function checkEnv(env: Record<string, string> | undefined, allow: readonly string[]): Record<string, string> {
  if (env === undefined) return {}
  for (const [name, value] of Object.entries(env)) {
    if (!allow.includes(name)) {
      throw denied(
        `environment variable ${name} is not allowed; add it to the shell provider's \`envAllow\` option to pass it`,
        { rule: 'env', option: 'envAllow', value: name },
      )
    }
    if (value.includes('\0'))
      throw new CapabilityError('INVALID_ARGUMENT', `environment variable ${name} contains NUL`)
  }
  return { ...env }
}

function checkArguments(
  command: ResolvedCommand,
  args: readonly string[],
  ctx: Omit<PresetContext, 'subcommands'>,
): string | undefined {
  const { rule, preset } = command
  if (preset !== undefined) {
    const reason = PRESET_CHECKS[preset](args, { ...ctx, subcommands: rule.subcommands })
    if (reason !== undefined) return reason
  } else if (
    rule.subcommands !== undefined &&
    (args[0] === undefined || !rule.subcommands.includes(args[0]))
  ) {
    return `${command.name} ${args[0] ?? ''} is not an allowed subcommand`.replace('  ', ' ')
  }
  const end = args.indexOf('--')
  const optionArgs = end === -1 ? args : args.slice(0, end)
  // Custom rules apply to every command; single-dash words (-exec) are matched whole as well as letter by letter.
  const word = rule.denyFlags?.find(
    (flag) => optionArgs.includes(flag) || optionArgs.some((a) => a.startsWith(`${flag}=`)),
  )
  if (word !== undefined) return `option ${word} is not allowed`
  const reason = checkFlags(scanArgs(args).options, {
    denyFlags: rule.denyFlags,
    allowFlags: rule.allowFlags,
  })
  if (reason !== undefined) return reason
  return rule.validate?.(args.length === 0 ? [command.name] : [command.name, ...args])
}

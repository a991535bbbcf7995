import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import type { CapabilityContext, ProviderDefinition } from '@capsule/provider-sdk'

/** A real AbortController-backed context, for calling a handler directly as the registry would. */
export function testContext(
  overrides: { sessionId?: string; deadlineMs?: number } = {},
): CapabilityContext & { controller: AbortController } {
  const controller = new AbortController()
  return {
    controller,
    signal: controller.signal,
    deadline: Date.now() + (overrides.deadlineMs ?? 60_000),
    sessionId: overrides.sessionId ?? 'session-1',
    executionId: 'execution-1',
    callId: `call-${Math.random().toString(36).slice(2)}`,
    capabilityId: 'shell.run',
    level: 'trusted',
    log: { debug() {}, info() {}, warn() {}, error() {} },
    progress() {},
  }
}

/** The result shape of shell.run. */
export interface RunResult {
  args: string[]
  returncode: number
  stdout: string
  stderr: string
  truncated: boolean
}

/** Calls shell.run as the registry does: input parsed by the schema, the handler, output validated. */
export async function callRun(
  provider: ProviderDefinition,
  input: Record<string, unknown>,
  ctx: CapabilityContext = testContext(),
): Promise<RunResult> {
  const capability = provider.capabilities[0]!
  const args = capability.input.parse(input)
  const result = await capability.handler(args, ctx)
  return capability.output.parse(result) as RunResult
}

/** Live (not zombie) processes whose command line contains `needle`. */
export function livePidsWith(needle: string): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8')
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
      if (cmdline.includes(needle) && state !== 'Z' && state !== 'X') pids.push(Number(entry))
    } catch {}
  }
  return pids
}

/** A unique sleep duration argument, so a test can find its own processes in /proc. */
export function uniqueSleep(): string {
  return `1000.${Math.floor(Math.random() * 1e9)}`
}

/**
 * Whether bubblewrap can start a sandbox on this machine (CI installs it; a fresh developer machine may
 * not have it). Tests of the bwrap mode are skipped, with this reason in their name, when it cannot.
 */
export const bwrapAvailable =
  spawnSync('bwrap', ['--ro-bind', '/', '/', '--unshare-all', '--die-with-parent', 'true'], {
    stdio: 'ignore',
  }).status === 0

/** Why the bwrap-mode tests were skipped, for their names. */
export const NO_BWRAP = 'skipped: bubblewrap cannot start a sandbox on this machine'

import type { CapabilityContext, ProviderDefinition } from '@capsule/provider-sdk'

/** A real AbortController-backed context for calling a handler directly. */
export function testContext(
  overrides: { sessionId?: string; deadlineMs?: number; controller?: AbortController } = {},
): CapabilityContext & { controller: AbortController } {
  const controller = overrides.controller ?? new AbortController()
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

/** Calls shell.run the way the registry would: input parsed by the schema, output validated. */
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

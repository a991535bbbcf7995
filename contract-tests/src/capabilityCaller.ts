import { randomUUID } from 'node:crypto'
import type {
  AnyCapabilityDefinition,
  CapabilityContext,
  CapabilityLogger,
  SecurityLevel,
} from '@capsule/provider-sdk'
import type { ArgsFixture, CallArgs } from './providerFixtures.js'

/** Default deadline of a direct call: far enough away never to matter to the contract. */
export const DIRECT_CALL_DEADLINE_MS = 60_000

const silentLogger: CapabilityLogger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
}

/** Resolves an args fixture (a value, or a function giving a fresh value) to the arguments of one call. */
export async function resolveArgs(fixture: ArgsFixture): Promise<CallArgs> {
  return typeof fixture === 'function' ? await fixture() : fixture
}

/**
 * A real handler context for a direct call, as the core would build it: the given signal, a deadline,
 * made-up session and call ids, a silent logger.
 */
export function createCapabilityContext(
  capabilityId: string,
  level: SecurityLevel,
  signal: AbortSignal,
): CapabilityContext {
  return {
    signal,
    deadline: Date.now() + DIRECT_CALL_DEADLINE_MS,
    sessionId: 'contract-session',
    executionId: null,
    callId: `contract-${randomUUID()}`,
    capabilityId,
    level,
    log: silentLogger,
    progress() {},
  }
}

/**
 * Calls a capability's handler directly, the way the core does once a call is allowed: the arguments
 * parsed by the input schema (so defaults apply), a fresh AbortController unless a signal is given.
 * Rejects with the handler's error, or with the schema's error when the arguments do not parse.
 */
export async function callHandler(
  providerName: string,
  definition: AnyCapabilityDefinition,
  args: CallArgs,
  signal: AbortSignal = new AbortController().signal,
): Promise<unknown> {
  const parsed = definition.input.parse(args)
  const context = createCapabilityContext(`${providerName}.${definition.name}`, definition.level, signal)
  return await definition.handler(parsed, context)
}

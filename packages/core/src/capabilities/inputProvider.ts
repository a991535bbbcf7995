import {
  CapabilityError,
  defineCapability,
  defineProvider,
  type ProviderDefinition,
} from '@capsule/provider-sdk'
import { z } from 'zod'

/** The capability id of `input()` / `getpass()`. */
export const INPUT_CAPABILITY_ID = 'io.input'

/**
 * The capability's own deadline: none to speak of. The session bounds the wait instead (`inputTimeoutMs`,
 * the execution's timeout), and raises EOFError at once when nobody could answer.
 */
export const DEFAULT_INPUT_TIMEOUT_MS = 2 ** 31 - 1

/** An `input()` waiting for an answer. */
export interface InputRequest {
  sessionId: string
  executionId: string | null
  /** The promise id: `capsule.promises.resolve(callId, text)` answers it from anywhere. */
  callId: string
  prompt: string
  password: boolean
  signal: AbortSignal
}

/**
 * The built-in `io` provider: `input()` as a capability (HITL, level restricted). The handler only
 * announces the request; the answer settles the call's promise from wherever it comes.
 */
export function createInputProvider(
  announce: (request: InputRequest) => void,
  timeoutMs = DEFAULT_INPUT_TIMEOUT_MS,
): ProviderDefinition {
  return defineProvider({
    name: 'io',
    version: '1.0.0',
    description: 'Built-in human-in-the-loop input.',
    capabilities: [
      defineCapability({
        name: 'input',
        python: 'input',
        level: 'restricted',
        description: 'Ask the human at the host for a line of text.',
        input: z.object({
          prompt: z.string().max(4096).default('').describe('text shown to the human'),
          password: z.boolean().default(false).describe('hide the answer (getpass)'),
        }),
        output: z.string(),
        timeoutMs,
        secretArgs: [],
        // Asking again is harmless: after a crash a durable cell's input() is put again (and answered
        // from the journal when someone already answered it).
        annotations: { readOnly: true, idempotent: true },
        handler: ({ prompt, password }, ctx) =>
          new Promise<string>((_, reject) => {
            ctx.signal.addEventListener(
              'abort',
              () => reject(new CapabilityError('CANCELLED', 'input was cancelled')),
              { once: true },
            )
            announce({
              sessionId: ctx.sessionId,
              executionId: ctx.executionId,
              callId: ctx.callId,
              prompt,
              password,
              signal: ctx.signal,
            })
          }),
      }),
    ],
  })
}

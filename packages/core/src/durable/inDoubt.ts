import type { CallOutcome } from '../calls/pendingCall.js'
import type { HitlPromiseRecord, Settlement } from '../journal/journalRecords.js'

/**
 * In-doubt calls: a call a host began (journaled pending) and died before recording how it ended. Its
 * effect may or may not have happened, so a person or the host decides through a HITL promise of kind
 * `in_doubt`, settled with one of three decisions:
 *
 * - a value: the call happened and returned this (`capsule.promises.resolve(id, value)`);
 * - an error: the call failed (`capsule.promises.reject(id, message, code)`);
 * - retry: run it again, with the same `ctx.idempotencyKey` (`capsule.promises.retry(id)`).
 */

/** The id of the in-doubt promise of one call: deterministic, so every recovery finds the same one. */
export function inDoubtPromiseId(executionId: string, callKey: string): string {
  return `in_doubt:${executionId}:${callKey}`
}

/** A decision on an in-doubt call. */
export type InDoubtDecision = { kind: 'outcome'; outcome: CallOutcome } | { kind: 'retry' }

/** The settlement that means "run the call again". */
export const RETRY_SETTLEMENT: Settlement = { state: 'resolved', value: { decision: 'retry' } }

/** The settlement for "the call returned `value`". */
export function valueSettlement(value: unknown): Settlement {
  return { state: 'resolved', value: { decision: 'value', value } }
}

/** What a settled in-doubt promise decided. */
export function inDoubtDecision(promise: HitlPromiseRecord): InDoubtDecision {
  if (promise.state === 'resolved') {
    const decided = promise.value as { decision?: unknown; value?: unknown } | null
    if (decided?.decision === 'retry') return { kind: 'retry' }
    return {
      kind: 'outcome',
      outcome: { ok: true, value: decided?.decision === 'value' ? decided.value : decided },
    }
  }
  const error = promise.error as { code?: unknown; message?: unknown } | undefined
  return {
    kind: 'outcome',
    outcome: {
      ok: false,
      code: (typeof error?.code === 'string' ? error.code : 'CANCELLED') as Extract<
        CallOutcome,
        { ok: false }
      >['code'],
      message: typeof error?.message === 'string' ? error.message : 'the in-doubt call was settled as failed',
    },
  }
}

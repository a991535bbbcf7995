import type { CapabilityError } from '@capsule/provider-sdk'
import { CapsuleError } from '../errors.js'
import type { Journal } from '../journal/journal.js'
import type { HitlPromiseKind, HitlPromiseRecord, Settlement } from '../journal/journalRecords.js'
import { RETRY_SETTLEMENT, valueSettlement } from './inDoubt.js'

/**
 * The journal's human-in-the-loop promises — a durable `input()` (kind `input`) and an in-doubt call (kind
 * `in_doubt`) — settled from any process or host on the journal; the waiting cell continues wherever it runs.
 */
export interface JournalPromiseControl {
  /** The pending ones, optionally of one kind or session. */
  list(filter?: { kind?: HitlPromiseKind; sessionKey?: string }): Promise<HitlPromiseRecord[]>
  /**
   * Answers an input (`value` is its text) or decides that an in-doubt call happened and returned `value`.
   * UNKNOWN_PROMISE when no such promise exists; CONFLICT when it was settled otherwise.
   */
  resolve(id: string, value: unknown): Promise<HitlPromiseRecord>
  /** Ends an input unanswered, or decides an in-doubt call failed with `code` (default UNAVAILABLE). */
  reject(id: string, message: string, code?: CapabilityError['code']): Promise<HitlPromiseRecord>
  /** Decides an in-doubt call runs again, with the same `ctx.idempotencyKey`. INVALID_ARGUMENT for an input. */
  retry(id: string): Promise<HitlPromiseRecord>
}

/** {@link JournalPromiseControl} over `journal`. */
export function journalPromises(journal: Journal): JournalPromiseControl {
  const settle = async (
    id: string,
    decide: (promise: HitlPromiseRecord) => Settlement,
  ): Promise<HitlPromiseRecord> => {
    await journal.open()
    const promise = await journal.getPromise(id)
    if (promise === undefined) {
      throw new CapsuleError('UNKNOWN_PROMISE', `no journal promise ${JSON.stringify(id)}`, {
        details: { id },
      })
    }
    return (await journal.settlePromise(id, decide(promise))).record
  }
  return {
    async list(filter = {}) {
      await journal.open()
      return journal.listPromises({ ...filter, state: 'pending' })
    },
    resolve: (id, value) =>
      settle(id, (promise) =>
        promise.kind === 'in_doubt' ? valueSettlement(value) : { state: 'resolved', value },
      ),
    reject: (id, message, code = 'UNAVAILABLE') =>
      settle(id, (promise) =>
        promise.kind === 'in_doubt'
          ? { state: 'rejected', error: { code, message } }
          : { state: 'rejected_canceled', error: { message } },
      ),
    retry: (id) =>
      settle(id, (promise) => {
        if (promise.kind !== 'in_doubt') {
          throw new CapsuleError(
            'INVALID_ARGUMENT',
            `only an in-doubt call can be retried, not a ${promise.kind}`,
            {
              details: { id, kind: promise.kind },
            },
          )
        }
        return RETRY_SETTLEMENT
      }),
  }
}

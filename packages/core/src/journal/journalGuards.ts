import type { CheckpointInit, HitlPromiseInit } from './journal.js'
import { journalErrors } from './journalErrors.js'
import type { LeaseToken } from './journalRecords.js'

// The rules every backend enforces alike, over the few stored fields each needs: a backend reads them in
// its own shape (a map entry, a SQL row) and hands them here, so the rule and its error are written once.

/** The checks a journal makes before a write, throwing the same typed errors in every backend. */
export const journalGuards = {
  /** Refuses a write whose lease is not the session's current one (LEASE_LOST). */
  fence(lease: LeaseToken, holder: { readonly owner?: unknown; readonly epoch?: unknown }): void {
    const owner = holder.owner as string | null
    const epoch = Number(holder.epoch)
    if (owner !== lease.owner || epoch !== lease.epoch) throw journalErrors.leaseLost(lease, { owner, epoch })
  },

  /** The execution a write names must exist (UNKNOWN_RECORD) and be of the lease's session. */
  ownExecution<T>(id: string, lease: LeaseToken, found: T | undefined, sessionKey: (row: T) => unknown): T {
    if (found === undefined) throw journalErrors.unknownRecord('execution', id)
    if (sessionKey(found) !== lease.sessionKey) throw journalErrors.otherSession('execution', id, lease)
    return found
  },

  /** A second submission under an idempotency key must carry the same code (CONFLICT). */
  sameCode(
    idempotencyKey: string,
    codeHash: string,
    stored: { readonly id: unknown; readonly codeHash: unknown },
  ): void {
    if (stored.codeHash !== codeHash)
      throw journalErrors.idempotencyConflict(idempotencyKey, String(stored.id))
  },

  /** A second create of a promise must match the first: kind, execution and encoded payload (CONFLICT). */
  samePromise(
    init: HitlPromiseInit,
    payload: string,
    stored: { readonly kind: unknown; readonly executionId: unknown; readonly payload: unknown },
  ): void {
    if (stored.kind !== init.kind || stored.executionId !== init.executionId || stored.payload !== payload) {
      throw journalErrors.differentRecord('promise', init.id)
    }
  },

  /** A second put of a checkpoint must match the first: session and bytes (CONFLICT). */
  sameCheckpoint(
    init: CheckpointInit,
    sessionKey: string,
    stored: { readonly sessionKey: unknown; readonly blob: Uint8Array },
  ): void {
    if (stored.sessionKey !== sessionKey || !Buffer.from(init.blob).equals(stored.blob)) {
      throw journalErrors.differentRecord('checkpoint', init.id)
    }
  },
}

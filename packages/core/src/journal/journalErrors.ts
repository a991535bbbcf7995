import { CapsuleError } from '../errors.js'
import type { LeaseToken } from './journalRecords.js'

/** The errors every journal raises alike, so callers match the same code and details. For implementations. */
export const journalErrors = {
  /** A write carried a lease whose epoch or owner the session has moved past. */
  leaseLost(lease: LeaseToken, current: { owner: string | null; epoch: number } | undefined): CapsuleError {
    return new CapsuleError(
      'LEASE_LOST',
      `the lease on session ${JSON.stringify(lease.sessionKey)} at epoch ${lease.epoch} is no longer held by ${JSON.stringify(lease.owner)}`,
      {
        details: {
          sessionKey: lease.sessionKey,
          owner: lease.owner,
          epoch: lease.epoch,
          currentOwner: current?.owner ?? null,
          currentEpoch: current?.epoch ?? null,
        },
      },
    )
  },
  /** An operation named a record the journal does not hold. */
  unknownRecord(what: string, id: string): CapsuleError {
    return new CapsuleError('UNKNOWN_RECORD', `the journal holds no ${what} ${JSON.stringify(id)}`, {
      details: { record: what, id },
    })
  },
  /** A write named a record of another session than the lease's. */
  otherSession(what: string, id: string, lease: LeaseToken): CapsuleError {
    return new CapsuleError(
      'INVALID_ARGUMENT',
      `${what} ${JSON.stringify(id)} is not of session ${JSON.stringify(lease.sessionKey)}`,
    )
  },
  /** An idempotency key came again with other code. */
  idempotencyConflict(idempotencyKey: string, executionId: string): CapsuleError {
    return new CapsuleError(
      'CONFLICT',
      `idempotency key ${JSON.stringify(idempotencyKey)} was used for other code (execution ${executionId})`,
      { details: { idempotencyKey, executionId } },
    )
  },
  /** A write that needs a pending record found it final. */
  alreadyFinal(what: string, id: string, state: string): CapsuleError {
    return new CapsuleError('CONFLICT', `${what} ${JSON.stringify(id)} is already ${state}`, {
      details: { recordedState: state },
    })
  },
  /** A create-or-get found a record under the same id with other contents. */
  differentRecord(what: string, id: string): CapsuleError {
    return new CapsuleError('CONFLICT', `${what} ${JSON.stringify(id)} exists with other contents`, {
      details: { record: what, id },
    })
  },
  /** The journal was closed. */
  closed(backend: string): CapsuleError {
    return new CapsuleError('JOURNAL_UNAVAILABLE', `the ${backend} journal is closed`, {
      details: { reason: 'closed' },
    })
  },
}

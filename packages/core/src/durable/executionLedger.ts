import { CallOrdinals, callKey, canonicalHash } from '../journal/canonicalHash.js'
import type { CallRecord, LeaseToken } from '../journal/journalRecords.js'

/**
 * Where a replay left the journal's record: the first recorded call it did not make (null when the journal
 * recorded no further call), and what it made instead.
 */
export interface ReplayDivergence {
  recorded: { capability: string; argsHash: string; ordinal: number } | null
  attempted: { capability: string; argsHash: string; ordinal: number }
}

/** A recorded call the (re-)run never made. */
export interface UnconsumedCall {
  capability: string
  argsHash: string
  ordinal: number
  state: string
}

/**
 * The journal's view of one durable execution while it runs in a worker: the lease it writes under, the
 * calls the journal already holds for it (from a run that did not finish), which of them this run has
 * made again, and how the run ended up differing, if it did.
 */
export class ExecutionLedger {
  readonly executionId: string
  readonly lease: LeaseToken
  readonly #ordinals = new CallOrdinals()
  readonly #recorded: Map<string, CallRecord>
  readonly #consumed = new Set<string>()
  readonly #sealed: boolean
  /** Set once a call was made that the journal did not expect while recorded calls were left. */
  divergence: ReplayDivergence | undefined
  /** Set when the journal failed under this execution: the run fails closed with it. */
  failure: unknown

  /**
   * `sealed`: the execution finished before (a replay to rebuild the namespace), so it may make no call the
   * journal does not hold.
   */
  constructor(
    executionId: string,
    lease: LeaseToken,
    recorded: readonly CallRecord[],
    options: { sealed?: boolean } = {},
  ) {
    this.#sealed = options.sealed === true
    this.executionId = executionId
    this.lease = lease
    this.#recorded = new Map(recorded.map((call) => [call.key, call]))
  }

  /** The key of the next call with this capability and these arguments (host-chosen, content-addressed). */
  keyOf(capability: string, args: unknown): { key: string; argsHash: string; ordinal: number } {
    const argsHash = canonicalHash(args)
    const ordinal = this.#ordinals.next(capability, argsHash)
    return { key: callKey(capability, argsHash, ordinal), argsHash, ordinal }
  }

  /** The recorded call under `key`, marked as made again. */
  take(key: string): CallRecord | undefined {
    const record = this.#recorded.get(key)
    if (record !== undefined) this.#consumed.add(key)
    return record
  }

  /** Whether the run is still replaying: recorded calls wait to be made again, or the execution is sealed. */
  get replaying(): boolean {
    return this.#sealed || this.#consumed.size < this.#recorded.size
  }

  /** The earliest recorded call not yet made again. */
  firstUnconsumed(): CallRecord | undefined {
    for (const [key, record] of this.#recorded) if (!this.#consumed.has(key)) return record
    return undefined
  }

  /** Recorded calls this run never made, in the order they were first begun. */
  unconsumed(): UnconsumedCall[] {
    const out: UnconsumedCall[] = []
    for (const [key, record] of this.#recorded) {
      if (this.#consumed.has(key)) continue
      out.push({
        capability: record.capability,
        argsHash: record.argsHash,
        ordinal: record.ordinal,
        state: record.state,
      })
    }
    return out
  }
}

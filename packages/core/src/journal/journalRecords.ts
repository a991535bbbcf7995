// Every journaled thing is a durable promise: pending ─settle→ resolved | rejected | rejected_canceled |
// rejected_timedout (final; a second settle with the same outcome is a no-op, with another a CONFLICT).

/** The states of a journaled promise, as Resonate names them. Only `pending` is not final. */
export const JOURNAL_STATES = [
  'pending',
  'resolved',
  'rejected',
  'rejected_canceled',
  'rejected_timedout',
] as const

/** One of {@link JOURNAL_STATES}. */
export type JournalState = (typeof JOURNAL_STATES)[number]

/** A state a journaled promise ends in. */
export type FinalJournalState = Exclude<JournalState, 'pending'>

/** The final states that carry an error rather than a value. */
export type RejectedJournalState = Exclude<FinalJournalState, 'resolved'>

/**
 * How a journaled promise ends: a value when resolved, an error otherwise. Values and errors may be anything
 * a msgpack frame decodes to (bytes, Map, bigint, -0, NaN…) and come back exactly as given.
 */
export type Settlement =
  | { readonly state: 'resolved'; readonly value: unknown }
  | { readonly state: RejectedJournalState; readonly error: unknown }

/** The outcome fields every journaled promise shares. */
export interface SettledFields {
  readonly state: JournalState
  /** The value, when `state` is `resolved`; otherwise undefined. */
  readonly value: unknown
  /** The error, when `state` is one of the rejected states; otherwise undefined. */
  readonly error: unknown
  /** Epoch ms of the settle, or null while pending. */
  readonly settledAt: number | null
}

/**
 * A durable session: a stable key under which executions are journaled, with the facts a replay needs
 * (the Python hash seed) and the lease that says which host may write for it.
 */
export interface DurableSessionRecord {
  readonly key: string
  /** PYTHONHASHSEED of every worker of this session, fixed when the session was first created. */
  readonly pythonHashSeed: number
  /** The policy fingerprint the session was created under. */
  readonly policyFingerprint: string
  /** The host holding the lease, or null when nobody holds it. */
  readonly owner: string | null
  /** Epoch ms when the lease lapses, or null when nobody holds it. */
  readonly leaseExpiresAt: number | null
  /** Fencing token: grows by one on every claim. A write carrying an older epoch is refused (LEASE_LOST). */
  readonly epoch: number
  /** The sequence number of the session's latest execution (0 before the first). */
  readonly lastSequence: number
  readonly createdAt: number
}

/** A held lease on a durable session. Every write its holder makes carries it. */
export interface Lease {
  readonly sessionKey: string
  readonly owner: string
  readonly epoch: number
  /** Epoch ms, by the journal's clock (PostgreSQL: the server's). */
  readonly expiresAt: number
}

/** What a fenced write carries: the lease's identity without its expiry (the epoch is the fence). */
export type LeaseToken = Pick<Lease, 'sessionKey' | 'owner' | 'epoch'>

/** One execution (cell) of a durable session. */
export interface ExecutionRecord extends SettledFields {
  /** Assigned by the journal. */
  readonly id: string
  readonly sessionKey: string
  /** 1, 2, 3… within the session, assigned by the journal in submission order. */
  readonly sequence: number
  /** The cell's source, so a recovering host can run it again. */
  readonly code: string
  /** sha256 (hex) of the UTF-8 code. */
  readonly codeHash: string
  readonly policyFingerprint: string
  readonly idempotencyKey: string | null
  /** The host that submitted it, when it said. */
  readonly submittedBy: string | null
  /** The host that last started it under a lease, or null before it was started. */
  readonly owner: string | null
  /** How many times it was started (a recovery starts it again). */
  readonly attempts: number
  readonly createdAt: number
}

/**
 * One capability call of a durable execution. Its key is content-addressed and chosen by the host:
 * `<capability>/<argsHash>/<ordinal>` (see {@link callKey}).
 */
export interface CallRecord extends SettledFields {
  readonly executionId: string
  readonly key: string
  readonly capability: string
  /** {@link canonicalHash} of the call's arguments. */
  readonly argsHash: string
  /** 0 for the first call with this capability and argsHash in the execution, then 1, 2… */
  readonly ordinal: number
  readonly createdAt: number
}

/** What a human-in-the-loop promise waits for: an `input()` answer, or a decision on an in-doubt call. */
export type HitlPromiseKind = 'input' | 'in_doubt'

/** A promise a person or another system settles, from any process on the journal. */
export interface HitlPromiseRecord extends SettledFields {
  /** Chosen by the creator, deterministic so a replay finds the same promise. */
  readonly id: string
  readonly kind: HitlPromiseKind
  readonly sessionKey: string
  readonly executionId: string
  /** What the settler needs to see: a prompt, an in-doubt call's capability and arguments. */
  readonly payload: unknown
  readonly createdAt: number
}

/** A checkpoint of a session's namespace: bytes the host signed, opaque to the journal. */
export interface CheckpointRecord {
  readonly id: string
  readonly sessionKey: string
  /** The sequence of the last execution the checkpoint includes. */
  readonly sequence: number
  readonly blob: Uint8Array
  readonly createdAt: number
}

/** The result of a create-or-get: the record, and whether this call created it. */
export interface Created<T> {
  readonly record: T
  readonly created: boolean
}

/** The result of a settle: the final record, and whether this call settled it (false: it already was). */
export interface Settled<T> {
  readonly record: T
  readonly settled: boolean
}

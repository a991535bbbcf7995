// Closed? ─open()→ Open ─close()→ Closed (final: every operation then fails JOURNAL_UNAVAILABLE)
import type {
  CallRecord,
  CheckpointRecord,
  Created,
  DurableSessionRecord,
  ExecutionRecord,
  HitlPromiseKind,
  HitlPromiseRecord,
  JournalState,
  Lease,
  LeaseToken,
  Settled,
  Settlement,
} from './journalRecords.js'

/** What {@link Journal.open} reports. */
export interface JournalInfo {
  /** `memory`, `sqlite`, `postgres`, or a third party's name. */
  readonly backend: string
  /** The schema version the storage is at (after any migration this open applied). */
  readonly schemaVersion: number
}

/** What {@link Journal.ensureSession} needs. */
export interface SessionInit {
  readonly key: string
  /** 0 ≤ seed ≤ 4294967295, as PYTHONHASHSEED takes it. Kept from the first create. */
  readonly pythonHashSeed: number
  readonly policyFingerprint: string
}

/** What {@link Journal.claimLease} needs. */
export interface LeaseClaim {
  readonly sessionKey: string
  /** The claiming host's id. */
  readonly owner: string
  /** How long the lease lasts unless renewed, in ms. */
  readonly ttlMs: number
}

/** What {@link Journal.createExecution} needs. The journal assigns the id and the sequence. */
export interface ExecutionInit {
  readonly sessionKey: string
  readonly code: string
  readonly policyFingerprint: string
  /** The same key again in this session returns the recorded execution; with other code it is a CONFLICT. */
  readonly idempotencyKey?: string
  readonly submittedBy?: string
}

/** What {@link Journal.beginCall} needs. */
export interface CallInit {
  readonly executionId: string
  readonly capability: string
  readonly argsHash: string
  readonly ordinal: number
}

/** What {@link Journal.createPromise} needs. */
export interface HitlPromiseInit {
  readonly id: string
  readonly kind: HitlPromiseKind
  readonly executionId: string
  readonly payload: unknown
}

/** Which HITL promises {@link Journal.listPromises} returns. */
export interface HitlPromiseFilter {
  readonly kind?: HitlPromiseKind
  readonly state?: JournalState
  readonly sessionKey?: string
  readonly executionId?: string
}

/** What {@link Journal.putCheckpoint} needs. */
export interface CheckpointInit {
  readonly id: string
  readonly sequence: number
  readonly blob: Uint8Array
}

/** How long a wait lasts: until the record is final, the signal aborts (CANCELLED) or the time is up (TIMEOUT). */
export interface JournalWaitOptions {
  readonly signal?: AbortSignal
  readonly timeoutMs?: number
}

/**
 * The durable record of sessions, executions, capability calls, HITL promises and checkpoints.
 * `memoryJournal()` is the default; `@capsule/journal-sqlite` and `@capsule/journal-postgres` outlive
 * the host. Every implementation passes `@capsule/contract-tests/journal`.
 *
 * Rules every method keeps:
 * - create-or-get: creating what exists returns it (`created: false`); a different record under the same
 *   identity is a CONFLICT.
 * - settle: only pending → final. Settling a final record again with the same outcome returns it
 *   (`settled: false`); with another outcome it is a CONFLICT carrying the recorded state.
 * - fencing: every write by a lease holder carries its {@link LeaseToken}; when the session's epoch or
 *   owner has moved on, the write is refused with LEASE_LOST and nothing is written.
 * - errors are CapsuleErrors: INVALID_ARGUMENT, UNKNOWN_RECORD, CONFLICT, LEASE_LOST, JOURNAL_UNAVAILABLE
 *   (closed, or the storage cannot be reached: fail closed), JOURNAL_VERSION, JOURNAL_CORRUPT.
 */
export interface Journal {
  /** Opens the storage and checks or migrates its schema. Idempotent; every other method opens first. */
  open(): Promise<JournalInfo>
  /** Closes the storage; pending waits reject with JOURNAL_UNAVAILABLE. Idempotent. */
  close(): Promise<void>

  /** Creates the durable session, or returns it as first created (its hash seed is kept). */
  ensureSession(init: SessionInit): Promise<Created<DurableSessionRecord>>
  getSession(key: string): Promise<DurableSessionRecord | undefined>

  /**
   * Claims the session's lease when nobody holds it, `owner` holds it, or it lapsed; the epoch grows by
   * one. Returns null when another host holds a live lease. UNKNOWN_RECORD for an unknown session.
   */
  claimLease(claim: LeaseClaim): Promise<Lease | null>
  /** Extends a held lease by `ttlMs` from now. LEASE_LOST when the epoch moved on. */
  renewLease(lease: LeaseToken, ttlMs: number): Promise<Lease>
  /** Gives a held lease up (the next claim needs no wait). LEASE_LOST when the epoch moved on. */
  releaseLease(lease: LeaseToken): Promise<void>

  /** Submits an execution (from any host: no lease needed), or returns the one with this idempotency key. */
  createExecution(init: ExecutionInit): Promise<Created<ExecutionRecord>>
  getExecution(id: string): Promise<ExecutionRecord | undefined>
  /** The session's executions in sequence order. */
  listExecutions(sessionKey: string): Promise<ExecutionRecord[]>
  /**
   * Pending executions `owner` may run now: their session's lease is `owner`'s, nobody's, or lapsed.
   * Oldest first.
   */
  listClaimable(owner: string, options?: { readonly limit?: number }): Promise<ExecutionRecord[]>
  /** Marks a pending execution started by the lease holder (owner set, attempts + 1). */
  startExecution(lease: LeaseToken, executionId: string): Promise<ExecutionRecord>
  settleExecution(
    lease: LeaseToken,
    executionId: string,
    settlement: Settlement,
  ): Promise<Settled<ExecutionRecord>>

  /** Records a capability call as pending before it runs, or returns the record of that key. */
  beginCall(lease: LeaseToken, init: CallInit): Promise<Created<CallRecord>>
  settleCall(
    lease: LeaseToken,
    executionId: string,
    key: string,
    settlement: Settlement,
  ): Promise<Settled<CallRecord>>
  /** The execution's calls in the order they were begun. */
  listCalls(executionId: string): Promise<CallRecord[]>

  /** Creates a HITL promise for an execution of the lease's session, or returns it. */
  createPromise(lease: LeaseToken, init: HitlPromiseInit): Promise<Created<HitlPromiseRecord>>
  getPromise(id: string): Promise<HitlPromiseRecord | undefined>
  listPromises(filter?: HitlPromiseFilter): Promise<HitlPromiseRecord[]>
  /** Settles a HITL promise. No lease: any process on the journal may answer a person's question. */
  settlePromise(id: string, settlement: Settlement): Promise<Settled<HitlPromiseRecord>>

  /** Resolves with the execution once it is final, whichever process settles it. */
  waitExecution(id: string, options?: JournalWaitOptions): Promise<ExecutionRecord>
  /** Resolves with the promise once it is final, whichever process settles it. */
  waitPromise(id: string, options?: JournalWaitOptions): Promise<HitlPromiseRecord>

  /** Stores a checkpoint, or returns the one with this id (CONFLICT when its bytes differ). */
  putCheckpoint(lease: LeaseToken, init: CheckpointInit): Promise<Created<CheckpointRecord>>
  getCheckpoint(id: string): Promise<CheckpointRecord | undefined>
  /** The session's checkpoint with the highest sequence (the latest stored among equals). */
  latestCheckpoint(sessionKey: string): Promise<CheckpointRecord | undefined>
}

import { randomUUID } from 'node:crypto'
import type { Clock } from '../util/clock.js'
import { hashCode } from './canonicalHash.js'
import type {
  CallInit,
  CheckpointInit,
  ExecutionInit,
  HitlPromiseFilter,
  HitlPromiseInit,
  LeaseClaim,
  SessionInit,
} from './journal.js'
import { journalErrors } from './journalErrors.js'
import type { JournalStore } from './journalFromStore.js'
import { journalGuards } from './journalGuards.js'
import type {
  CallRecord,
  CheckpointRecord,
  Created,
  DurableSessionRecord,
  ExecutionRecord,
  HitlPromiseRecord,
  JournalState,
  Lease,
  LeaseToken,
  Settled,
} from './journalRecords.js'
import {
  checkResettle,
  decodeJournalValue,
  decodeOutcome,
  type EncodedSettlement,
  encodeJournalValue,
} from './journalValue.js'
import { executionWaitKey, promiseWaitKey } from './journalWaiters.js'

type Mutable<T> = { -readonly [K in keyof T]: T[K] }
type SessionRow = Mutable<DurableSessionRecord>
interface Outcome {
  state: JournalState
  outcome: string | null
  settledAt: number | null
}
type ExecutionRow = Omit<Mutable<ExecutionRecord>, 'value' | 'error' | 'state' | 'settledAt'> & Outcome
type CallRow = Omit<Mutable<CallRecord>, 'value' | 'error' | 'state' | 'settledAt'> & Outcome
type PromiseRow = Omit<Mutable<HitlPromiseRecord>, 'value' | 'error' | 'state' | 'settledAt' | 'payload'> &
  Outcome & { payload: string }

/**
 * The state behind one or more memory journals: what a durable backend keeps on disk, kept in maps.
 * Values are stored encoded, as on disk, so a record read back is a copy and never aliases the caller's.
 */
export class MemoryJournalStore implements JournalStore {
  readonly #sessions = new Map<string, SessionRow>()
  readonly #executions = new Map<string, ExecutionRow>()
  readonly #executionsBySession = new Map<string, ExecutionRow[]>()
  readonly #idempotency = new Map<string, ExecutionRow>()
  readonly #calls = new Map<string, Map<string, CallRow>>()
  readonly #promises = new Map<string, PromiseRow>()
  readonly #checkpoints = new Map<string, CheckpointRecord>()
  readonly #listeners = new Set<(key: string) => void>()
  readonly #clock: Clock

  constructor(clock: Clock) {
    this.#clock = clock
  }

  /** Calls `listener` with the waiter key of every record that becomes final; returns the unsubscribe. */
  subscribe(listener: (key: string) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  ensureSession(init: SessionInit): Created<DurableSessionRecord> {
    const existing = this.#sessions.get(init.key)
    if (existing) return { record: { ...existing }, created: false }
    const row: SessionRow = {
      key: init.key,
      pythonHashSeed: init.pythonHashSeed,
      policyFingerprint: init.policyFingerprint,
      owner: null,
      leaseExpiresAt: null,
      epoch: 0,
      lastSequence: 0,
      createdAt: this.#clock.now(),
    }
    this.#sessions.set(init.key, row)
    return { record: { ...row }, created: true }
  }

  getSession(key: string): DurableSessionRecord | undefined {
    const row = this.#sessions.get(key)
    return row && { ...row }
  }

  claimLease(claim: LeaseClaim): Lease | null {
    const row = this.#session(claim.sessionKey)
    const now = this.#clock.now()
    const free = row.owner === null || row.owner === claim.owner || (row.leaseExpiresAt ?? 0) <= now
    if (!free) return null
    row.owner = claim.owner
    row.epoch += 1
    row.leaseExpiresAt = now + claim.ttlMs
    return { sessionKey: row.key, owner: claim.owner, epoch: row.epoch, expiresAt: row.leaseExpiresAt }
  }

  renewLease(lease: LeaseToken, ttlMs: number): Lease {
    const row = this.#fenced(lease)
    row.leaseExpiresAt = this.#clock.now() + ttlMs
    return { sessionKey: row.key, owner: lease.owner, epoch: row.epoch, expiresAt: row.leaseExpiresAt }
  }

  releaseLease(lease: LeaseToken): void {
    const row = this.#fenced(lease)
    row.owner = null
    row.leaseExpiresAt = null
  }

  createExecution(init: ExecutionInit): Created<ExecutionRecord> {
    const session = this.#session(init.sessionKey)
    const codeHash = hashCode(init.code)
    if (init.idempotencyKey !== undefined) {
      const existing = this.#idempotency.get(`${init.sessionKey}\u0000${init.idempotencyKey}`)
      if (existing) {
        journalGuards.sameCode(init.idempotencyKey, codeHash, existing)
        return { record: executionRecord(existing), created: false }
      }
    }
    session.lastSequence += 1
    const row: ExecutionRow = {
      id: randomUUID(),
      sessionKey: init.sessionKey,
      sequence: session.lastSequence,
      code: init.code,
      codeHash,
      policyFingerprint: init.policyFingerprint,
      idempotencyKey: init.idempotencyKey ?? null,
      submittedBy: init.submittedBy ?? null,
      owner: null,
      attempts: 0,
      createdAt: this.#clock.now(),
      state: 'pending',
      outcome: null,
      settledAt: null,
    }
    this.#executions.set(row.id, row)
    const list = this.#executionsBySession.get(row.sessionKey) ?? []
    list.push(row)
    this.#executionsBySession.set(row.sessionKey, list)
    if (row.idempotencyKey !== null)
      this.#idempotency.set(`${row.sessionKey}\u0000${row.idempotencyKey}`, row)
    return { record: executionRecord(row), created: true }
  }

  getExecution(id: string): ExecutionRecord | undefined {
    const row = this.#executions.get(id)
    return row && executionRecord(row)
  }

  listExecutions(sessionKey: string): ExecutionRecord[] {
    return (this.#executionsBySession.get(sessionKey) ?? []).map(executionRecord)
  }

  listClaimable(owner: string, limit: number): ExecutionRecord[] {
    const now = this.#clock.now()
    const out: ExecutionRecord[] = []
    for (const row of this.#executions.values()) {
      if (out.length >= limit) break
      if (row.state !== 'pending') continue
      const session = this.#sessions.get(row.sessionKey)!
      if (session.owner === null || session.owner === owner || (session.leaseExpiresAt ?? 0) <= now) {
        out.push(executionRecord(row))
      }
    }
    return out
  }

  startExecution(lease: LeaseToken, id: string): ExecutionRecord {
    this.#fenced(lease)
    const row = this.#execution(id, lease)
    if (row.state !== 'pending') throw journalErrors.alreadyFinal('execution', id, row.state)
    row.owner = lease.owner
    row.attempts += 1
    return executionRecord(row)
  }

  settleExecution(lease: LeaseToken, id: string, settlement: EncodedSettlement): Settled<ExecutionRecord> {
    this.#fenced(lease)
    const row = this.#execution(id, lease)
    const settled = this.#settle(row, `execution ${JSON.stringify(id)}`, settlement)
    if (settled) this.#emit(executionWaitKey(id))
    return { record: executionRecord(row), settled }
  }

  beginCall(lease: LeaseToken, init: CallInit, key: string): Created<CallRecord> {
    this.#fenced(lease)
    const execution = this.#execution(init.executionId, lease)
    const calls = this.#calls.get(init.executionId) ?? new Map<string, CallRow>()
    const existing = calls.get(key)
    if (existing) return { record: callRecord(existing), created: false }
    if (execution.state !== 'pending')
      throw journalErrors.alreadyFinal('execution', execution.id, execution.state)
    const row: CallRow = {
      executionId: init.executionId,
      key,
      capability: init.capability,
      argsHash: init.argsHash,
      ordinal: init.ordinal,
      createdAt: this.#clock.now(),
      state: 'pending',
      outcome: null,
      settledAt: null,
    }
    calls.set(key, row)
    this.#calls.set(init.executionId, calls)
    return { record: callRecord(row), created: true }
  }

  settleCall(
    lease: LeaseToken,
    executionId: string,
    key: string,
    settlement: EncodedSettlement,
  ): Settled<CallRecord> {
    this.#fenced(lease)
    this.#execution(executionId, lease)
    const row = this.#calls.get(executionId)?.get(key)
    if (!row) throw journalErrors.unknownRecord('call', key)
    const settled = this.#settle(row, `call ${JSON.stringify(key)}`, settlement)
    return { record: callRecord(row), settled }
  }

  listCalls(executionId: string): CallRecord[] {
    return [...(this.#calls.get(executionId)?.values() ?? [])].map(callRecord)
  }

  createPromise(lease: LeaseToken, init: HitlPromiseInit): Created<HitlPromiseRecord> {
    this.#fenced(lease)
    this.#execution(init.executionId, lease)
    const payload = encodeJournalValue(init.payload)
    const existing = this.#promises.get(init.id)
    if (existing) {
      journalGuards.samePromise(init, payload, existing)
      return { record: promiseRecord(existing), created: false }
    }
    const row: PromiseRow = {
      id: init.id,
      kind: init.kind,
      sessionKey: lease.sessionKey,
      executionId: init.executionId,
      payload,
      createdAt: this.#clock.now(),
      state: 'pending',
      outcome: null,
      settledAt: null,
    }
    this.#promises.set(row.id, row)
    return { record: promiseRecord(row), created: true }
  }

  getPromise(id: string): HitlPromiseRecord | undefined {
    const row = this.#promises.get(id)
    return row && promiseRecord(row)
  }

  listPromises(filter: HitlPromiseFilter): HitlPromiseRecord[] {
    const out: HitlPromiseRecord[] = []
    for (const row of this.#promises.values()) {
      if (filter.kind !== undefined && row.kind !== filter.kind) continue
      if (filter.state !== undefined && row.state !== filter.state) continue
      if (filter.sessionKey !== undefined && row.sessionKey !== filter.sessionKey) continue
      if (filter.executionId !== undefined && row.executionId !== filter.executionId) continue
      out.push(promiseRecord(row))
    }
    return out
  }

  settlePromise(id: string, settlement: EncodedSettlement): Settled<HitlPromiseRecord> {
    const row = this.#promises.get(id)
    if (!row) throw journalErrors.unknownRecord('promise', id)
    const settled = this.#settle(row, `promise ${JSON.stringify(id)}`, settlement)
    if (settled) this.#emit(promiseWaitKey(id))
    return { record: promiseRecord(row), settled }
  }

  putCheckpoint(lease: LeaseToken, init: CheckpointInit): Created<CheckpointRecord> {
    this.#fenced(lease)
    const existing = this.#checkpoints.get(init.id)
    if (existing) {
      journalGuards.sameCheckpoint(init, lease.sessionKey, existing)
      return { record: copyCheckpoint(existing), created: false }
    }
    const record: CheckpointRecord = {
      id: init.id,
      sessionKey: lease.sessionKey,
      sequence: init.sequence,
      blob: new Uint8Array(init.blob),
      createdAt: this.#clock.now(),
    }
    this.#checkpoints.set(record.id, record)
    return { record: copyCheckpoint(record), created: true }
  }

  getCheckpoint(id: string): CheckpointRecord | undefined {
    const record = this.#checkpoints.get(id)
    return record && copyCheckpoint(record)
  }

  latestCheckpoint(sessionKey: string): CheckpointRecord | undefined {
    let latest: CheckpointRecord | undefined
    for (const record of this.#checkpoints.values()) {
      if (record.sessionKey === sessionKey && (latest === undefined || record.sequence >= latest.sequence)) {
        latest = record
      }
    }
    return latest && copyCheckpoint(latest)
  }

  #settle(row: Outcome, what: string, settlement: EncodedSettlement): boolean {
    if (row.state !== 'pending') {
      checkResettle(what, row, settlement)
      return false
    }
    row.state = settlement.state
    row.outcome = settlement.outcome
    row.settledAt = this.#clock.now()
    return true
  }

  #emit(key: string): void {
    for (const listener of this.#listeners) listener(key)
  }

  #session(key: string): SessionRow {
    const row = this.#sessions.get(key)
    if (!row) throw journalErrors.unknownRecord('session', key)
    return row
  }

  #fenced(lease: LeaseToken): SessionRow {
    const row = this.#session(lease.sessionKey)
    journalGuards.fence(lease, row)
    return row
  }

  #execution(id: string, lease: LeaseToken): ExecutionRow {
    return journalGuards.ownExecution(id, lease, this.#executions.get(id), (row) => row.sessionKey)
  }
}

function executionRecord(row: ExecutionRow): ExecutionRecord {
  const { outcome, ...rest } = row
  return { ...rest, ...decodeOutcome(row.state, outcome) }
}

function callRecord(row: CallRow): CallRecord {
  const { outcome, ...rest } = row
  return { ...rest, ...decodeOutcome(row.state, outcome) }
}

function promiseRecord(row: PromiseRow): HitlPromiseRecord {
  const { outcome, payload, ...rest } = row
  return { ...rest, payload: decodeJournalValue(payload), ...decodeOutcome(row.state, outcome) }
}

function copyCheckpoint(record: CheckpointRecord): CheckpointRecord {
  return { ...record, blob: new Uint8Array(record.blob) }
}

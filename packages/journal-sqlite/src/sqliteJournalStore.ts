import { randomUUID } from 'node:crypto'
import type {
  CallInit,
  CallRecord,
  CheckpointInit,
  CheckpointRecord,
  Created,
  DurableSessionRecord,
  ExecutionInit,
  ExecutionRecord,
  HitlPromiseFilter,
  HitlPromiseInit,
  HitlPromiseRecord,
  Lease,
  LeaseClaim,
  LeaseToken,
  SessionInit,
  Settled,
} from '@capsule/core'
import {
  checkResettle,
  decodeJournalValue,
  decodeOutcome,
  type EncodedSettlement,
  encodeJournalValue,
  executionWaitKey,
  hashCode,
  journalErrors,
  parseJournalState,
  promiseWaitKey,
} from '@capsule/core/journal'
import type Database from 'better-sqlite3'

type Row = Record<string, unknown>

/**
 * The journal's operations as synchronous SQL on one connection. Each write runs inside the caller's
 * IMMEDIATE transaction (which serialises writers across processes, so check-then-write is atomic) and
 * reports the waiter keys it made final in `wakes`.
 */
export class SqliteJournalStore {
  readonly #db: Database.Database
  readonly #statements = new Map<string, Database.Statement>()

  constructor(db: Database.Database) {
    this.#db = db
  }

  ensureSession(init: SessionInit): Created<DurableSessionRecord> {
    const inserted = this.#sql(
      `INSERT INTO sessions (key, python_hash_seed, policy_fingerprint, created_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO NOTHING`,
    ).run(init.key, init.pythonHashSeed, init.policyFingerprint, Date.now())
    return { record: this.getSession(init.key)!, created: inserted.changes === 1 }
  }

  getSession(key: string): DurableSessionRecord | undefined {
    const row = this.#sql('SELECT * FROM sessions WHERE key = ?').get(key) as Row | undefined
    return row && sessionRecord(row)
  }

  claimLease(claim: LeaseClaim): Lease | null {
    this.#session(claim.sessionKey)
    const now = Date.now()
    const row = this.#sql(
      `UPDATE sessions SET owner = ?, epoch = epoch + 1, lease_expires_at = ?
       WHERE key = ? AND (owner IS NULL OR owner = ? OR lease_expires_at <= ?) RETURNING *`,
    ).get(claim.owner, now + claim.ttlMs, claim.sessionKey, claim.owner, now) as Row | undefined
    return row ? leaseOf(row) : null
  }

  renewLease(lease: LeaseToken, ttlMs: number): Lease {
    this.fence(lease)
    const row = this.#sql('UPDATE sessions SET lease_expires_at = ? WHERE key = ? RETURNING *').get(
      Date.now() + ttlMs,
      lease.sessionKey,
    ) as Row
    return leaseOf(row)
  }

  releaseLease(lease: LeaseToken): void {
    this.fence(lease)
    this.#sql('UPDATE sessions SET owner = NULL, lease_expires_at = NULL WHERE key = ?').run(lease.sessionKey)
  }

  createExecution(init: ExecutionInit): Created<ExecutionRecord> {
    this.#session(init.sessionKey)
    const codeHash = hashCode(init.code)
    if (init.idempotencyKey !== undefined) {
      const existing = this.#sql(
        'SELECT * FROM executions WHERE session_key = ? AND idempotency_key = ?',
      ).get(init.sessionKey, init.idempotencyKey) as Row | undefined
      if (existing) {
        if (existing.code_hash !== codeHash) {
          throw journalErrors.idempotencyConflict(init.idempotencyKey, String(existing.id))
        }
        return { record: executionRecord(existing), created: false }
      }
    }
    const { last_sequence: sequence } = this.#sql(
      'UPDATE sessions SET last_sequence = last_sequence + 1 WHERE key = ? RETURNING last_sequence',
    ).get(init.sessionKey) as { last_sequence: number }
    const row = this.#sql(
      `INSERT INTO executions (id, session_key, sequence, code, code_hash, policy_fingerprint, idempotency_key,
         submitted_by, state, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?) RETURNING *`,
    ).get(
      randomUUID(),
      init.sessionKey,
      sequence,
      // As JSON text: a cell may hold NUL or a lone surrogate, which UTF-8 text would not keep.
      JSON.stringify(init.code),
      codeHash,
      init.policyFingerprint,
      init.idempotencyKey ?? null,
      init.submittedBy ?? null,
      Date.now(),
    ) as Row
    return { record: executionRecord(row), created: true }
  }

  getExecution(id: string): ExecutionRecord | undefined {
    const row = this.#sql('SELECT * FROM executions WHERE id = ?').get(id) as Row | undefined
    return row && executionRecord(row)
  }

  listExecutions(sessionKey: string): ExecutionRecord[] {
    const rows = this.#sql('SELECT * FROM executions WHERE session_key = ? ORDER BY sequence').all(sessionKey)
    return (rows as Row[]).map(executionRecord)
  }

  listClaimable(owner: string, limit: number): ExecutionRecord[] {
    const rows = this.#sql(
      `SELECT e.* FROM executions e JOIN sessions s ON s.key = e.session_key
       WHERE e.state = 'pending' AND (s.owner IS NULL OR s.owner = ? OR s.lease_expires_at <= ?)
       ORDER BY e.position LIMIT ?`,
    ).all(owner, Date.now(), limit)
    return (rows as Row[]).map(executionRecord)
  }

  startExecution(lease: LeaseToken, id: string): ExecutionRecord {
    this.fence(lease)
    const row = this.#execution(id, lease)
    if (row.state !== 'pending') throw journalErrors.alreadyFinal('execution', id, String(row.state))
    const updated = this.#sql(
      'UPDATE executions SET owner = ?, attempts = attempts + 1 WHERE id = ? RETURNING *',
    ).get(lease.owner, id) as Row
    return executionRecord(updated)
  }

  settleExecution(
    lease: LeaseToken,
    id: string,
    settlement: EncodedSettlement,
    wakes: string[],
  ): Settled<ExecutionRecord> {
    this.fence(lease)
    const row = this.#execution(id, lease)
    if (!this.#settle('executions', 'id = ?', [id], row, `execution ${JSON.stringify(id)}`, settlement)) {
      return { record: executionRecord(row), settled: false }
    }
    wakes.push(executionWaitKey(id))
    return { record: this.getExecution(id)!, settled: true }
  }

  beginCall(lease: LeaseToken, init: CallInit, key: string): Created<CallRecord> {
    this.fence(lease)
    const execution = this.#execution(init.executionId, lease)
    const existing = this.#call(init.executionId, key)
    if (existing) return { record: callRecord(existing), created: false }
    if (execution.state !== 'pending') {
      throw journalErrors.alreadyFinal('execution', init.executionId, String(execution.state))
    }
    const row = this.#sql(
      `INSERT INTO calls (execution_id, key, capability, args_hash, ordinal, state, created_at)
       VALUES (?, ?, ?, ?, ?, 'pending', ?) RETURNING *`,
    ).get(init.executionId, key, init.capability, init.argsHash, init.ordinal, Date.now()) as Row
    return { record: callRecord(row), created: true }
  }

  settleCall(
    lease: LeaseToken,
    executionId: string,
    key: string,
    settlement: EncodedSettlement,
  ): Settled<CallRecord> {
    this.fence(lease)
    this.#execution(executionId, lease)
    const row = this.#call(executionId, key)
    if (!row) throw journalErrors.unknownRecord('call', key)
    const where = 'execution_id = ? AND key = ?'
    if (!this.#settle('calls', where, [executionId, key], row, `call ${JSON.stringify(key)}`, settlement)) {
      return { record: callRecord(row), settled: false }
    }
    return { record: callRecord(this.#call(executionId, key)!), settled: true }
  }

  listCalls(executionId: string): CallRecord[] {
    const rows = this.#sql('SELECT * FROM calls WHERE execution_id = ? ORDER BY position').all(executionId)
    return (rows as Row[]).map(callRecord)
  }

  createPromise(lease: LeaseToken, init: HitlPromiseInit): Created<HitlPromiseRecord> {
    this.fence(lease)
    this.#execution(init.executionId, lease)
    const payload = encodeJournalValue(init.payload)
    const existing = this.#sql('SELECT * FROM promises WHERE id = ?').get(init.id) as Row | undefined
    if (existing) {
      if (
        existing.kind !== init.kind ||
        existing.execution_id !== init.executionId ||
        existing.payload !== payload
      ) {
        throw journalErrors.differentRecord('promise', init.id)
      }
      return { record: promiseRecord(existing), created: false }
    }
    const row = this.#sql(
      `INSERT INTO promises (id, kind, session_key, execution_id, payload, state, created_at)
       VALUES (?, ?, ?, ?, ?, 'pending', ?) RETURNING *`,
    ).get(init.id, init.kind, lease.sessionKey, init.executionId, payload, Date.now()) as Row
    return { record: promiseRecord(row), created: true }
  }

  getPromise(id: string): HitlPromiseRecord | undefined {
    const row = this.#sql('SELECT * FROM promises WHERE id = ?').get(id) as Row | undefined
    return row && promiseRecord(row)
  }

  listPromises(filter: HitlPromiseFilter): HitlPromiseRecord[] {
    const rows = this.#sql(
      `SELECT * FROM promises WHERE (@kind IS NULL OR kind = @kind) AND (@state IS NULL OR state = @state)
         AND (@session IS NULL OR session_key = @session) AND (@execution IS NULL OR execution_id = @execution)
       ORDER BY position`,
    ).all({
      kind: filter.kind ?? null,
      state: filter.state ?? null,
      session: filter.sessionKey ?? null,
      execution: filter.executionId ?? null,
    })
    return (rows as Row[]).map(promiseRecord)
  }

  settlePromise(id: string, settlement: EncodedSettlement, wakes: string[]): Settled<HitlPromiseRecord> {
    const row = this.#sql('SELECT * FROM promises WHERE id = ?').get(id) as Row | undefined
    if (!row) throw journalErrors.unknownRecord('promise', id)
    if (!this.#settle('promises', 'id = ?', [id], row, `promise ${JSON.stringify(id)}`, settlement)) {
      return { record: promiseRecord(row), settled: false }
    }
    wakes.push(promiseWaitKey(id))
    return { record: this.getPromise(id)!, settled: true }
  }

  putCheckpoint(lease: LeaseToken, init: CheckpointInit): Created<CheckpointRecord> {
    this.fence(lease)
    const existing = this.#sql('SELECT * FROM checkpoints WHERE id = ?').get(init.id) as Row | undefined
    if (existing) {
      if (
        existing.session_key !== lease.sessionKey ||
        !Buffer.from(init.blob).equals(existing.blob as Buffer)
      ) {
        throw journalErrors.differentRecord('checkpoint', init.id)
      }
      return { record: checkpointRecord(existing), created: false }
    }
    const row = this.#sql(
      'INSERT INTO checkpoints (id, session_key, sequence, blob, created_at) VALUES (?, ?, ?, ?, ?) RETURNING *',
    ).get(init.id, lease.sessionKey, init.sequence, Buffer.from(init.blob), Date.now()) as Row
    return { record: checkpointRecord(row), created: true }
  }

  getCheckpoint(id: string): CheckpointRecord | undefined {
    const row = this.#sql('SELECT * FROM checkpoints WHERE id = ?').get(id) as Row | undefined
    return row && checkpointRecord(row)
  }

  latestCheckpoint(sessionKey: string): CheckpointRecord | undefined {
    const row = this.#sql(
      'SELECT * FROM checkpoints WHERE session_key = ? ORDER BY sequence DESC, position DESC LIMIT 1',
    ).get(sessionKey) as Row | undefined
    return row && checkpointRecord(row)
  }

  /** Refuses a write whose lease is not the session's current one (LEASE_LOST). */
  fence(lease: LeaseToken): void {
    const row = this.#session(lease.sessionKey)
    if (row.owner !== lease.owner || row.epoch !== lease.epoch) {
      throw journalErrors.leaseLost(lease, { owner: row.owner as string | null, epoch: Number(row.epoch) })
    }
  }

  #settle(
    table: string,
    where: string,
    keys: unknown[],
    row: Row,
    what: string,
    settlement: EncodedSettlement,
  ): boolean {
    if (row.state !== 'pending') {
      checkResettle(
        what,
        { state: parseJournalState(row.state), outcome: row.outcome as string | null },
        settlement,
      )
      return false
    }
    this.#sql(`UPDATE ${table} SET state = ?, outcome = ?, settled_at = ? WHERE ${where}`).run(
      settlement.state,
      settlement.outcome,
      Date.now(),
      ...keys,
    )
    return true
  }

  #session(key: string): Row {
    const row = this.#sql('SELECT owner, epoch FROM sessions WHERE key = ?').get(key) as Row | undefined
    if (!row) throw journalErrors.unknownRecord('session', key)
    return row
  }

  #execution(id: string, lease: LeaseToken): Row {
    const row = this.#sql('SELECT * FROM executions WHERE id = ?').get(id) as Row | undefined
    if (!row) throw journalErrors.unknownRecord('execution', id)
    if (row.session_key !== lease.sessionKey) throw journalErrors.otherSession('execution', id, lease)
    return row
  }

  #call(executionId: string, key: string): Row | undefined {
    return this.#sql('SELECT * FROM calls WHERE execution_id = ? AND key = ?').get(executionId, key) as
      | Row
      | undefined
  }

  // Statements are prepared once per connection and reused.
  #sql(source: string): Database.Statement {
    let statement = this.#statements.get(source)
    if (!statement) {
      statement = this.#db.prepare(source)
      this.#statements.set(source, statement)
    }
    return statement
  }
}

const nullableNumber = (value: unknown): number | null => (value === null ? null : Number(value))

function sessionRecord(row: Row): DurableSessionRecord {
  return {
    key: String(row.key),
    pythonHashSeed: Number(row.python_hash_seed),
    policyFingerprint: String(row.policy_fingerprint),
    owner: row.owner as string | null,
    leaseExpiresAt: nullableNumber(row.lease_expires_at),
    epoch: Number(row.epoch),
    lastSequence: Number(row.last_sequence),
    createdAt: Number(row.created_at),
  }
}

function leaseOf(row: Row): Lease {
  return {
    sessionKey: String(row.key),
    owner: String(row.owner),
    epoch: Number(row.epoch),
    expiresAt: Number(row.lease_expires_at),
  }
}

function outcomeOf(row: Row) {
  const state = parseJournalState(row.state)
  return {
    state,
    ...decodeOutcome(state, row.outcome as string | null),
    settledAt: nullableNumber(row.settled_at),
  }
}

function executionRecord(row: Row): ExecutionRecord {
  return {
    id: String(row.id),
    sessionKey: String(row.session_key),
    sequence: Number(row.sequence),
    code: decodeJournalValue(String(row.code)) as string,
    codeHash: String(row.code_hash),
    policyFingerprint: String(row.policy_fingerprint),
    idempotencyKey: row.idempotency_key as string | null,
    submittedBy: row.submitted_by as string | null,
    owner: row.owner as string | null,
    attempts: Number(row.attempts),
    createdAt: Number(row.created_at),
    ...outcomeOf(row),
  }
}

function callRecord(row: Row): CallRecord {
  return {
    executionId: String(row.execution_id),
    key: String(row.key),
    capability: String(row.capability),
    argsHash: String(row.args_hash),
    ordinal: Number(row.ordinal),
    createdAt: Number(row.created_at),
    ...outcomeOf(row),
  }
}

function promiseRecord(row: Row): HitlPromiseRecord {
  return {
    id: String(row.id),
    kind: row.kind === 'in_doubt' ? 'in_doubt' : 'input',
    sessionKey: String(row.session_key),
    executionId: String(row.execution_id),
    payload: decodeJournalValue(String(row.payload)),
    createdAt: Number(row.created_at),
    ...outcomeOf(row),
  }
}

function checkpointRecord(row: Row): CheckpointRecord {
  const blob = row.blob as Buffer
  return {
    id: String(row.id),
    sessionKey: String(row.session_key),
    sequence: Number(row.sequence),
    blob: new Uint8Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength)),
    createdAt: Number(row.created_at),
  }
}

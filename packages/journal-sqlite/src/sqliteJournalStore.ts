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
  type EncodedSettlement,
  encodeJournalValue,
  hashCode,
  type JournalStore,
  journalErrors,
  journalGuards,
  journalRows,
  type JournalRow as Row,
} from '@capsule/core/journal'
import type Database from 'better-sqlite3'

/**
 * The journal's operations as synchronous SQL on one connection. Each write runs inside the caller's
 * IMMEDIATE transaction, which serialises writers across processes, so check-then-write is atomic.
 */
export class SqliteJournalStore implements JournalStore {
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
    return row && journalRows.session(row)
  }

  claimLease(claim: LeaseClaim): Lease | null {
    this.#session(claim.sessionKey)
    const now = Date.now()
    const row = this.#sql(
      `UPDATE sessions SET owner = ?, epoch = epoch + 1, lease_expires_at = ?
       WHERE key = ? AND (owner IS NULL OR owner = ? OR lease_expires_at <= ?) RETURNING *`,
    ).get(claim.owner, now + claim.ttlMs, claim.sessionKey, claim.owner, now) as Row | undefined
    return row ? journalRows.lease(row) : null
  }

  renewLease(lease: LeaseToken, ttlMs: number): Lease {
    this.fence(lease)
    const row = this.#sql('UPDATE sessions SET lease_expires_at = ? WHERE key = ? RETURNING *').get(
      Date.now() + ttlMs,
      lease.sessionKey,
    ) as Row
    return journalRows.lease(row)
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
        journalGuards.sameCode(init.idempotencyKey, codeHash, {
          id: existing.id,
          codeHash: existing.code_hash,
        })
        return { record: journalRows.execution(existing), created: false }
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
    return { record: journalRows.execution(row), created: true }
  }

  getExecution(id: string): ExecutionRecord | undefined {
    const row = this.#sql('SELECT * FROM executions WHERE id = ?').get(id) as Row | undefined
    return row && journalRows.execution(row)
  }

  listExecutions(sessionKey: string): ExecutionRecord[] {
    const rows = this.#sql('SELECT * FROM executions WHERE session_key = ? ORDER BY sequence').all(sessionKey)
    return (rows as Row[]).map(journalRows.execution)
  }

  listClaimable(owner: string, limit: number): ExecutionRecord[] {
    const rows = this.#sql(
      `SELECT e.* FROM executions e JOIN sessions s ON s.key = e.session_key
       WHERE e.state = 'pending' AND (s.owner IS NULL OR s.owner = ? OR s.lease_expires_at <= ?)
       ORDER BY e.position LIMIT ?`,
    ).all(owner, Date.now(), limit)
    return (rows as Row[]).map(journalRows.execution)
  }

  startExecution(lease: LeaseToken, id: string): ExecutionRecord {
    this.fence(lease)
    const row = this.#execution(id, lease)
    if (row.state !== 'pending') throw journalErrors.alreadyFinal('execution', id, String(row.state))
    const updated = this.#sql(
      'UPDATE executions SET owner = ?, attempts = attempts + 1 WHERE id = ? RETURNING *',
    ).get(lease.owner, id) as Row
    return journalRows.execution(updated)
  }

  settleExecution(lease: LeaseToken, id: string, settlement: EncodedSettlement): Settled<ExecutionRecord> {
    this.fence(lease)
    const row = this.#execution(id, lease)
    if (!this.#settle('executions', 'id = ?', [id], row, `execution ${JSON.stringify(id)}`, settlement)) {
      return { record: journalRows.execution(row), settled: false }
    }
    return { record: this.getExecution(id)!, settled: true }
  }

  beginCall(lease: LeaseToken, init: CallInit, key: string): Created<CallRecord> {
    this.fence(lease)
    const execution = this.#execution(init.executionId, lease)
    const existing = this.#call(init.executionId, key)
    if (existing) return { record: journalRows.call(existing), created: false }
    if (execution.state !== 'pending') {
      throw journalErrors.alreadyFinal('execution', init.executionId, String(execution.state))
    }
    const row = this.#sql(
      `INSERT INTO calls (execution_id, key, capability, args_hash, ordinal, state, created_at)
       VALUES (?, ?, ?, ?, ?, 'pending', ?) RETURNING *`,
    ).get(init.executionId, key, init.capability, init.argsHash, init.ordinal, Date.now()) as Row
    return { record: journalRows.call(row), created: true }
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
      return { record: journalRows.call(row), settled: false }
    }
    return { record: journalRows.call(this.#call(executionId, key)!), settled: true }
  }

  listCalls(executionId: string): CallRecord[] {
    const rows = this.#sql('SELECT * FROM calls WHERE execution_id = ? ORDER BY position').all(executionId)
    return (rows as Row[]).map(journalRows.call)
  }

  createPromise(lease: LeaseToken, init: HitlPromiseInit): Created<HitlPromiseRecord> {
    this.fence(lease)
    this.#execution(init.executionId, lease)
    const payload = encodeJournalValue(init.payload)
    const existing = this.#sql('SELECT * FROM promises WHERE id = ?').get(init.id) as Row | undefined
    if (existing) {
      journalGuards.samePromise(init, payload, {
        kind: existing.kind,
        executionId: existing.execution_id,
        payload: existing.payload,
      })
      return { record: journalRows.promise(existing), created: false }
    }
    const row = this.#sql(
      `INSERT INTO promises (id, kind, session_key, execution_id, payload, state, created_at)
       VALUES (?, ?, ?, ?, ?, 'pending', ?) RETURNING *`,
    ).get(init.id, init.kind, lease.sessionKey, init.executionId, payload, Date.now()) as Row
    return { record: journalRows.promise(row), created: true }
  }

  getPromise(id: string): HitlPromiseRecord | undefined {
    const row = this.#sql('SELECT * FROM promises WHERE id = ?').get(id) as Row | undefined
    return row && journalRows.promise(row)
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
    return (rows as Row[]).map(journalRows.promise)
  }

  settlePromise(id: string, settlement: EncodedSettlement): Settled<HitlPromiseRecord> {
    const row = this.#sql('SELECT * FROM promises WHERE id = ?').get(id) as Row | undefined
    if (!row) throw journalErrors.unknownRecord('promise', id)
    if (!this.#settle('promises', 'id = ?', [id], row, `promise ${JSON.stringify(id)}`, settlement)) {
      return { record: journalRows.promise(row), settled: false }
    }
    return { record: this.getPromise(id)!, settled: true }
  }

  putCheckpoint(lease: LeaseToken, init: CheckpointInit): Created<CheckpointRecord> {
    this.fence(lease)
    const existing = this.#sql('SELECT * FROM checkpoints WHERE id = ?').get(init.id) as Row | undefined
    if (existing) {
      journalGuards.sameCheckpoint(init, lease.sessionKey, {
        sessionKey: existing.session_key,
        blob: existing.blob as Buffer,
      })
      return { record: journalRows.checkpoint(existing), created: false }
    }
    const row = this.#sql(
      'INSERT INTO checkpoints (id, session_key, sequence, blob, created_at) VALUES (?, ?, ?, ?, ?) RETURNING *',
    ).get(init.id, lease.sessionKey, init.sequence, Buffer.from(init.blob), Date.now()) as Row
    return { record: journalRows.checkpoint(row), created: true }
  }

  getCheckpoint(id: string): CheckpointRecord | undefined {
    const row = this.#sql('SELECT * FROM checkpoints WHERE id = ?').get(id) as Row | undefined
    return row && journalRows.checkpoint(row)
  }

  latestCheckpoint(sessionKey: string): CheckpointRecord | undefined {
    const row = this.#sql(
      'SELECT * FROM checkpoints WHERE session_key = ? ORDER BY sequence DESC, position DESC LIMIT 1',
    ).get(sessionKey) as Row | undefined
    return row && journalRows.checkpoint(row)
  }

  /** Refuses a write whose lease is not the session's current one (LEASE_LOST). */
  fence(lease: LeaseToken): void {
    journalGuards.fence(lease, this.#session(lease.sessionKey))
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
      checkResettle(what, journalRows.storedOutcome(row), settlement)
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
    return journalGuards.ownExecution(id, lease, row, (found) => found.session_key)
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

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
  executionWaitKey,
  hashCode,
  journalErrors,
  parseJournalState,
  promiseWaitKey,
} from '@capsule/core/journal'
import type pg from 'pg'
import {
  callRecord,
  checkpointRecord,
  executionRecord,
  leaseOf,
  promiseRecord,
  type Row,
  sessionRecord,
} from './postgresRecords.js'
import { ident } from './postgresSchema.js'

// Times come from the server's clock, so hosts with skewed clocks agree on when a lease lapses.
const NOW_MS = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint'

type Client = pg.PoolClient
/** Reads run on the pool or on a transaction's client. */
type Queryable = pg.Pool | pg.ClientBase

/**
 * The journal's operations as SQL on a client inside the caller's transaction. Fenced writes take the
 * session row FOR SHARE, so a claim (FOR UPDATE) waits for them, or skips the row, until they commit.
 * Settles NOTIFY the journal's channel with the waiter key, delivered at commit.
 */
export class PostgresJournalStore {
  readonly #s: string
  readonly #channel: string

  constructor(schema: string, channel: string) {
    this.#s = ident(schema)
    this.#channel = channel
  }

  async ensureSession(c: Client, init: SessionInit): Promise<Created<DurableSessionRecord>> {
    const inserted = await c.query(
      `INSERT INTO ${this.#s}.sessions (key, python_hash_seed, policy_fingerprint, created_at)
       VALUES ($1, $2, $3, ${NOW_MS}) ON CONFLICT (key) DO NOTHING RETURNING *`,
      [init.key, init.pythonHashSeed, init.policyFingerprint],
    )
    if (inserted.rows[0]) return { record: sessionRecord(inserted.rows[0]), created: true }
    return { record: (await this.getSession(c, init.key))!, created: false }
  }

  async getSession(c: Queryable, key: string): Promise<DurableSessionRecord | undefined> {
    const { rows } = await c.query(`SELECT * FROM ${this.#s}.sessions WHERE key = $1`, [key])
    return rows[0] && sessionRecord(rows[0])
  }

  async claimLease(c: Client, claim: LeaseClaim): Promise<Lease | null> {
    // SKIP LOCKED: of several hosts claiming at once, one takes the row and the rest get null at once.
    const { rows } = await c.query(
      `WITH target AS (
         SELECT key FROM ${this.#s}.sessions
         WHERE key = $1 AND (owner IS NULL OR owner = $2 OR lease_expires_at <= ${NOW_MS})
         FOR UPDATE SKIP LOCKED)
       UPDATE ${this.#s}.sessions s SET owner = $2, epoch = s.epoch + 1, lease_expires_at = ${NOW_MS} + $3
       FROM target WHERE s.key = target.key RETURNING s.*`,
      [claim.sessionKey, claim.owner, claim.ttlMs],
    )
    if (rows[0]) return leaseOf(rows[0])
    await this.#session(c, claim.sessionKey, '')
    return null
  }

  async renewLease(c: Client, lease: LeaseToken, ttlMs: number): Promise<Lease> {
    await this.#fence(c, lease, 'FOR UPDATE')
    const { rows } = await c.query(
      `UPDATE ${this.#s}.sessions SET lease_expires_at = ${NOW_MS} + $2 WHERE key = $1 RETURNING *`,
      [lease.sessionKey, ttlMs],
    )
    return leaseOf(rows[0]!)
  }

  async releaseLease(c: Client, lease: LeaseToken): Promise<void> {
    await this.#fence(c, lease, 'FOR UPDATE')
    await c.query(`UPDATE ${this.#s}.sessions SET owner = NULL, lease_expires_at = NULL WHERE key = $1`, [
      lease.sessionKey,
    ])
  }

  async createExecution(c: Client, init: ExecutionInit): Promise<Created<ExecutionRecord>> {
    // The row lock orders submissions to one session: the idempotency check and the sequence agree.
    await this.#session(c, init.sessionKey, 'FOR UPDATE')
    const codeHash = hashCode(init.code)
    if (init.idempotencyKey !== undefined) {
      const { rows } = await c.query(
        `SELECT * FROM ${this.#s}.executions WHERE session_key = $1 AND idempotency_key = $2`,
        [init.sessionKey, init.idempotencyKey],
      )
      const existing = rows[0] as Row | undefined
      if (existing) {
        if (existing.code_hash !== codeHash) {
          throw journalErrors.idempotencyConflict(init.idempotencyKey, String(existing.id))
        }
        return { record: executionRecord(existing), created: false }
      }
    }
    const { rows } = await c.query(
      `WITH next AS (
         UPDATE ${this.#s}.sessions SET last_sequence = last_sequence + 1 WHERE key = $1 RETURNING last_sequence)
       INSERT INTO ${this.#s}.executions (id, session_key, sequence, code, code_hash, policy_fingerprint,
         idempotency_key, submitted_by, state, created_at)
       SELECT $2, $1, next.last_sequence, $3, $4, $5, $6, $7, 'pending', ${NOW_MS} FROM next RETURNING *`,
      [
        init.sessionKey,
        randomUUID(),
        // As JSON text: PostgreSQL text cannot hold NUL, nor UTF-8 a lone surrogate.
        JSON.stringify(init.code),
        codeHash,
        init.policyFingerprint,
        init.idempotencyKey ?? null,
        init.submittedBy ?? null,
      ],
    )
    return { record: executionRecord(rows[0]), created: true }
  }

  async getExecution(c: Queryable, id: string): Promise<ExecutionRecord | undefined> {
    const { rows } = await c.query(`SELECT * FROM ${this.#s}.executions WHERE id = $1`, [id])
    return rows[0] && executionRecord(rows[0])
  }

  async listExecutions(c: Queryable, sessionKey: string): Promise<ExecutionRecord[]> {
    const { rows } = await c.query(
      `SELECT * FROM ${this.#s}.executions WHERE session_key = $1 ORDER BY sequence`,
      [sessionKey],
    )
    return rows.map(executionRecord)
  }

  async listClaimable(c: Queryable, owner: string, limit: number): Promise<ExecutionRecord[]> {
    const { rows } = await c.query(
      `SELECT e.* FROM ${this.#s}.executions e JOIN ${this.#s}.sessions s ON s.key = e.session_key
       WHERE e.state = 'pending' AND (s.owner IS NULL OR s.owner = $1 OR s.lease_expires_at <= ${NOW_MS})
       ORDER BY e.position LIMIT $2`,
      [owner, limit],
    )
    return rows.map(executionRecord)
  }

  async startExecution(c: Client, lease: LeaseToken, id: string): Promise<ExecutionRecord> {
    await this.#fence(c, lease)
    const row = await this.#execution(c, id, lease)
    if (row.state !== 'pending') throw journalErrors.alreadyFinal('execution', id, String(row.state))
    const { rows } = await c.query(
      `UPDATE ${this.#s}.executions SET owner = $2, attempts = attempts + 1 WHERE id = $1 RETURNING *`,
      [id, lease.owner],
    )
    return executionRecord(rows[0])
  }

  async settleExecution(
    c: Client,
    lease: LeaseToken,
    id: string,
    settlement: EncodedSettlement,
  ): Promise<Settled<ExecutionRecord>> {
    await this.#fence(c, lease)
    const row = await this.#execution(c, id, lease)
    const result = await this.#settle(
      c,
      'executions',
      'id = $3',
      [id],
      row,
      `execution ${JSON.stringify(id)}`,
      settlement,
    )
    if (result.settled) await this.#notify(c, executionWaitKey(id))
    return { record: executionRecord(result.row), settled: result.settled }
  }

  async beginCall(c: Client, lease: LeaseToken, init: CallInit, key: string): Promise<Created<CallRecord>> {
    await this.#fence(c, lease)
    const execution = await this.#execution(c, init.executionId, lease)
    const existing = await this.#call(c, init.executionId, key)
    if (existing) return { record: callRecord(existing), created: false }
    if (execution.state !== 'pending') {
      throw journalErrors.alreadyFinal('execution', init.executionId, String(execution.state))
    }
    const { rows } = await c.query(
      `INSERT INTO ${this.#s}.calls (execution_id, key, capability, args_hash, ordinal, state, created_at)
       VALUES ($1, $2, $3, $4, $5, 'pending', ${NOW_MS}) ON CONFLICT (execution_id, key) DO NOTHING RETURNING *`,
      [init.executionId, key, init.capability, init.argsHash, init.ordinal],
    )
    if (rows[0]) return { record: callRecord(rows[0]), created: true }
    return { record: callRecord((await this.#call(c, init.executionId, key))!), created: false }
  }

  async settleCall(
    c: Client,
    lease: LeaseToken,
    executionId: string,
    key: string,
    settlement: EncodedSettlement,
  ): Promise<Settled<CallRecord>> {
    await this.#fence(c, lease)
    await this.#execution(c, executionId, lease)
    const row = await this.#call(c, executionId, key)
    if (!row) throw journalErrors.unknownRecord('call', key)
    const where = 'execution_id = $3 AND key = $4'
    const result = await this.#settle(
      c,
      'calls',
      where,
      [executionId, key],
      row,
      `call ${JSON.stringify(key)}`,
      settlement,
    )
    return { record: callRecord(result.row), settled: result.settled }
  }

  async listCalls(c: Queryable, executionId: string): Promise<CallRecord[]> {
    const { rows } = await c.query(
      `SELECT * FROM ${this.#s}.calls WHERE execution_id = $1 ORDER BY position`,
      [executionId],
    )
    return rows.map(callRecord)
  }

  async createPromise(
    c: Client,
    lease: LeaseToken,
    init: HitlPromiseInit,
  ): Promise<Created<HitlPromiseRecord>> {
    await this.#fence(c, lease)
    await this.#execution(c, init.executionId, lease)
    const payload = encodeJournalValue(init.payload)
    const { rows } = await c.query(
      `INSERT INTO ${this.#s}.promises (id, kind, session_key, execution_id, payload, state, created_at)
       VALUES ($1, $2, $3, $4, $5, 'pending', ${NOW_MS}) ON CONFLICT (id) DO NOTHING RETURNING *`,
      [init.id, init.kind, lease.sessionKey, init.executionId, payload],
    )
    if (rows[0]) return { record: promiseRecord(rows[0]), created: true }
    const existing = (await c.query(`SELECT * FROM ${this.#s}.promises WHERE id = $1`, [init.id]))
      .rows[0] as Row
    if (
      existing.kind !== init.kind ||
      existing.execution_id !== init.executionId ||
      existing.payload !== payload
    ) {
      throw journalErrors.differentRecord('promise', init.id)
    }
    return { record: promiseRecord(existing), created: false }
  }

  async getPromise(c: Queryable, id: string): Promise<HitlPromiseRecord | undefined> {
    const { rows } = await c.query(`SELECT * FROM ${this.#s}.promises WHERE id = $1`, [id])
    return rows[0] && promiseRecord(rows[0])
  }

  async listPromises(c: Queryable, filter: HitlPromiseFilter): Promise<HitlPromiseRecord[]> {
    const { rows } = await c.query(
      `SELECT * FROM ${this.#s}.promises WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR state = $2)
         AND ($3::text IS NULL OR session_key = $3) AND ($4::text IS NULL OR execution_id = $4)
       ORDER BY position`,
      [filter.kind ?? null, filter.state ?? null, filter.sessionKey ?? null, filter.executionId ?? null],
    )
    return rows.map(promiseRecord)
  }

  async settlePromise(
    c: Client,
    id: string,
    settlement: EncodedSettlement,
  ): Promise<Settled<HitlPromiseRecord>> {
    const { rows } = await c.query(`SELECT * FROM ${this.#s}.promises WHERE id = $1 FOR UPDATE`, [id])
    const row = rows[0] as Row | undefined
    if (!row) throw journalErrors.unknownRecord('promise', id)
    const result = await this.#settle(
      c,
      'promises',
      'id = $3',
      [id],
      row,
      `promise ${JSON.stringify(id)}`,
      settlement,
    )
    if (result.settled) await this.#notify(c, promiseWaitKey(id))
    return { record: promiseRecord(result.row), settled: result.settled }
  }

  async putCheckpoint(
    c: Client,
    lease: LeaseToken,
    init: CheckpointInit,
  ): Promise<Created<CheckpointRecord>> {
    await this.#fence(c, lease)
    const { rows } = await c.query(
      `INSERT INTO ${this.#s}.checkpoints (id, session_key, sequence, blob, created_at)
       VALUES ($1, $2, $3, $4, ${NOW_MS}) ON CONFLICT (id) DO NOTHING RETURNING *`,
      [init.id, lease.sessionKey, init.sequence, Buffer.from(init.blob)],
    )
    if (rows[0]) return { record: checkpointRecord(rows[0]), created: true }
    const existing = (await c.query(`SELECT * FROM ${this.#s}.checkpoints WHERE id = $1`, [init.id]))
      .rows[0] as Row
    if (
      existing.session_key !== lease.sessionKey ||
      !Buffer.from(init.blob).equals(existing.blob as Buffer)
    ) {
      throw journalErrors.differentRecord('checkpoint', init.id)
    }
    return { record: checkpointRecord(existing), created: false }
  }

  async getCheckpoint(c: Queryable, id: string): Promise<CheckpointRecord | undefined> {
    const { rows } = await c.query(`SELECT * FROM ${this.#s}.checkpoints WHERE id = $1`, [id])
    return rows[0] && checkpointRecord(rows[0])
  }

  async latestCheckpoint(c: Queryable, sessionKey: string): Promise<CheckpointRecord | undefined> {
    const { rows } = await c.query(
      `SELECT * FROM ${this.#s}.checkpoints WHERE session_key = $1 ORDER BY sequence DESC, position DESC LIMIT 1`,
      [sessionKey],
    )
    return rows[0] && checkpointRecord(rows[0])
  }

  // Settles a pending row; a final one (seen first, or settled by a racing transaction) must hold the same
  // outcome, else CONFLICT. Returns the row as it now stands and whether this call settled it.
  async #settle(
    c: Client,
    table: string,
    where: string,
    keys: unknown[],
    row: Row,
    what: string,
    settlement: EncodedSettlement,
  ): Promise<{ row: Row; settled: boolean }> {
    let current = row
    if (current.state === 'pending') {
      const { rows } = await c.query(
        `UPDATE ${this.#s}.${table} SET state = $1, outcome = $2, settled_at = ${NOW_MS}
         WHERE ${where} AND state = 'pending' RETURNING *`,
        [settlement.state, settlement.outcome, ...keys],
      )
      if (rows[0]) return { row: rows[0], settled: true }
      current = (await c.query(`SELECT * FROM ${this.#s}.${table} WHERE ${where}`, keys)).rows[0]
    }
    checkResettle(
      what,
      { state: parseJournalState(current.state), outcome: current.outcome as string | null },
      settlement,
    )
    return { row: current, settled: false }
  }

  async #notify(c: Client, key: string): Promise<void> {
    await c.query('SELECT pg_notify($1, $2)', [this.#channel, key])
  }

  async #session(c: Client, key: string, lock: '' | 'FOR SHARE' | 'FOR UPDATE'): Promise<Row> {
    const { rows } = await c.query(`SELECT owner, epoch FROM ${this.#s}.sessions WHERE key = $1 ${lock}`, [
      key,
    ])
    if (!rows[0]) throw journalErrors.unknownRecord('session', key)
    return rows[0]
  }

  async #fence(c: Client, lease: LeaseToken, lock: 'FOR SHARE' | 'FOR UPDATE' = 'FOR SHARE'): Promise<void> {
    const row = await this.#session(c, lease.sessionKey, lock)
    if (row.owner !== lease.owner || Number(row.epoch) !== lease.epoch) {
      throw journalErrors.leaseLost(lease, { owner: row.owner as string | null, epoch: Number(row.epoch) })
    }
  }

  async #execution(c: Client, id: string, lease: LeaseToken): Promise<Row> {
    const { rows } = await c.query(`SELECT * FROM ${this.#s}.executions WHERE id = $1`, [id])
    const row = rows[0] as Row | undefined
    if (!row) throw journalErrors.unknownRecord('execution', id)
    if (row.session_key !== lease.sessionKey) throw journalErrors.otherSession('execution', id, lease)
    return row
  }

  async #call(c: Client, executionId: string, key: string): Promise<Row | undefined> {
    const { rows } = await c.query(`SELECT * FROM ${this.#s}.calls WHERE execution_id = $1 AND key = $2`, [
      executionId,
      key,
    ])
    return rows[0]
  }
}

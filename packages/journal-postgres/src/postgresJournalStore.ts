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
  type EncodedSettlement,
  encodeJournalValue,
  executionWaitKey,
  hashCode,
  type JournalStore,
  journalErrors,
  journalGuards,
  journalRows,
  promiseWaitKey,
  type JournalRow as Row,
} from '@capsule/core/journal'
import { NOW_MS, PostgresRows, type Queryable } from './postgresRows.js'
import { ident } from './postgresSchema.js'

/**
 * The journal's operations as SQL on one queryable; writes run on a client inside the caller's
 * transaction. Fenced writes take the session row FOR SHARE, so a claim (FOR UPDATE) waits for them, or
 * skips the row, until they commit. Settles NOTIFY the journal's channel with the waiter key, delivered at
 * commit.
 */
export class PostgresJournalStore implements JournalStore {
  readonly #c: Queryable
  readonly #s: string
  readonly #rows: PostgresRows

  constructor(queryable: Queryable, schema: string, channel: string) {
    this.#c = queryable
    this.#s = ident(schema)
    this.#rows = new PostgresRows(queryable, this.#s, channel)
  }

  async ensureSession(init: SessionInit): Promise<Created<DurableSessionRecord>> {
    const inserted = await this.#c.query(
      `INSERT INTO ${this.#s}.sessions (key, python_hash_seed, policy_fingerprint, created_at)
       VALUES ($1, $2, $3, ${NOW_MS}) ON CONFLICT (key) DO NOTHING RETURNING *`,
      [init.key, init.pythonHashSeed, init.policyFingerprint],
    )
    if (inserted.rows[0]) return { record: journalRows.session(inserted.rows[0]), created: true }
    return { record: (await this.getSession(init.key))!, created: false }
  }

  async getSession(key: string): Promise<DurableSessionRecord | undefined> {
    const { rows } = await this.#c.query(`SELECT * FROM ${this.#s}.sessions WHERE key = $1`, [key])
    return rows[0] && journalRows.session(rows[0])
  }

  async claimLease(claim: LeaseClaim): Promise<Lease | null> {
    // SKIP LOCKED: of several hosts claiming at once, one takes the row and the rest get null at once.
    const { rows } = await this.#c.query(
      `WITH target AS (
         SELECT key FROM ${this.#s}.sessions
         WHERE key = $1 AND (owner IS NULL OR owner = $2 OR lease_expires_at <= ${NOW_MS})
         FOR UPDATE SKIP LOCKED)
       UPDATE ${this.#s}.sessions s SET owner = $2, epoch = s.epoch + 1, lease_expires_at = ${NOW_MS} + $3
       FROM target WHERE s.key = target.key RETURNING s.*`,
      [claim.sessionKey, claim.owner, claim.ttlMs],
    )
    if (rows[0]) return journalRows.lease(rows[0])
    await this.#rows.session(claim.sessionKey, '')
    return null
  }

  async renewLease(lease: LeaseToken, ttlMs: number): Promise<Lease> {
    await this.#rows.fence(lease, 'FOR UPDATE')
    const { rows } = await this.#c.query(
      `UPDATE ${this.#s}.sessions SET lease_expires_at = ${NOW_MS} + $2 WHERE key = $1 RETURNING *`,
      [lease.sessionKey, ttlMs],
    )
    return journalRows.lease(rows[0]!)
  }

  async releaseLease(lease: LeaseToken): Promise<void> {
    await this.#rows.fence(lease, 'FOR UPDATE')
    await this.#c.query(
      `UPDATE ${this.#s}.sessions SET owner = NULL, lease_expires_at = NULL WHERE key = $1`,
      [lease.sessionKey],
    )
  }

  async createExecution(init: ExecutionInit): Promise<Created<ExecutionRecord>> {
    // The row lock orders submissions to one session: the idempotency check and the sequence agree.
    await this.#rows.session(init.sessionKey, 'FOR UPDATE')
    const codeHash = hashCode(init.code)
    if (init.idempotencyKey !== undefined) {
      const { rows } = await this.#c.query(
        `SELECT * FROM ${this.#s}.executions WHERE session_key = $1 AND idempotency_key = $2`,
        [init.sessionKey, init.idempotencyKey],
      )
      const existing = rows[0] as Row | undefined
      if (existing) {
        journalGuards.sameCode(init.idempotencyKey, codeHash, {
          id: existing.id,
          codeHash: existing.code_hash,
        })
        return { record: journalRows.execution(existing), created: false }
      }
    }
    const { rows } = await this.#c.query(
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
    return { record: journalRows.execution(rows[0]), created: true }
  }

  async getExecution(id: string): Promise<ExecutionRecord | undefined> {
    const { rows } = await this.#c.query(`SELECT * FROM ${this.#s}.executions WHERE id = $1`, [id])
    return rows[0] && journalRows.execution(rows[0])
  }

  async listExecutions(sessionKey: string): Promise<ExecutionRecord[]> {
    const { rows } = await this.#c.query(
      `SELECT * FROM ${this.#s}.executions WHERE session_key = $1 ORDER BY sequence`,
      [sessionKey],
    )
    return rows.map(journalRows.execution)
  }

  async listClaimable(owner: string, limit: number): Promise<ExecutionRecord[]> {
    const { rows } = await this.#c.query(
      `SELECT e.* FROM ${this.#s}.executions e JOIN ${this.#s}.sessions s ON s.key = e.session_key
       WHERE e.state = 'pending' AND (s.owner IS NULL OR s.owner = $1 OR s.lease_expires_at <= ${NOW_MS})
       ORDER BY e.position LIMIT $2`,
      [owner, limit],
    )
    return rows.map(journalRows.execution)
  }

  async startExecution(lease: LeaseToken, id: string): Promise<ExecutionRecord> {
    await this.#rows.fence(lease)
    const row = await this.#rows.execution(id, lease)
    if (row.state !== 'pending') throw journalErrors.alreadyFinal('execution', id, String(row.state))
    const { rows } = await this.#c.query(
      `UPDATE ${this.#s}.executions SET owner = $2, attempts = attempts + 1 WHERE id = $1 RETURNING *`,
      [id, lease.owner],
    )
    return journalRows.execution(rows[0])
  }

  async settleExecution(
    lease: LeaseToken,
    id: string,
    settlement: EncodedSettlement,
  ): Promise<Settled<ExecutionRecord>> {
    await this.#rows.fence(lease)
    const row = await this.#rows.execution(id, lease)
    const result = await this.#rows.settle(
      'executions',
      'id = $3',
      [id],
      row,
      `execution ${JSON.stringify(id)}`,
      settlement,
    )
    if (result.settled) await this.#rows.notify(executionWaitKey(id))
    return { record: journalRows.execution(result.row), settled: result.settled }
  }

  async beginCall(lease: LeaseToken, init: CallInit, key: string): Promise<Created<CallRecord>> {
    await this.#rows.fence(lease)
    const execution = await this.#rows.execution(init.executionId, lease)
    const existing = await this.#rows.call(init.executionId, key)
    if (existing) return { record: journalRows.call(existing), created: false }
    if (execution.state !== 'pending') {
      throw journalErrors.alreadyFinal('execution', init.executionId, String(execution.state))
    }
    const { rows } = await this.#c.query(
      `INSERT INTO ${this.#s}.calls (execution_id, key, capability, args_hash, ordinal, state, created_at)
       VALUES ($1, $2, $3, $4, $5, 'pending', ${NOW_MS}) ON CONFLICT (execution_id, key) DO NOTHING RETURNING *`,
      [init.executionId, key, init.capability, init.argsHash, init.ordinal],
    )
    if (rows[0]) return { record: journalRows.call(rows[0]), created: true }
    return { record: journalRows.call((await this.#rows.call(init.executionId, key))!), created: false }
  }

  async settleCall(
    lease: LeaseToken,
    executionId: string,
    key: string,
    settlement: EncodedSettlement,
  ): Promise<Settled<CallRecord>> {
    await this.#rows.fence(lease)
    await this.#rows.execution(executionId, lease)
    const row = await this.#rows.call(executionId, key)
    if (!row) throw journalErrors.unknownRecord('call', key)
    const where = 'execution_id = $3 AND key = $4'
    const result = await this.#rows.settle(
      'calls',
      where,
      [executionId, key],
      row,
      `call ${JSON.stringify(key)}`,
      settlement,
    )
    return { record: journalRows.call(result.row), settled: result.settled }
  }

  async listCalls(executionId: string): Promise<CallRecord[]> {
    const { rows } = await this.#c.query(
      `SELECT * FROM ${this.#s}.calls WHERE execution_id = $1 ORDER BY position`,
      [executionId],
    )
    return rows.map(journalRows.call)
  }

  async createPromise(lease: LeaseToken, init: HitlPromiseInit): Promise<Created<HitlPromiseRecord>> {
    await this.#rows.fence(lease)
    await this.#rows.execution(init.executionId, lease)
    const payload = encodeJournalValue(init.payload)
    const { rows } = await this.#c.query(
      `INSERT INTO ${this.#s}.promises (id, kind, session_key, execution_id, payload, state, created_at)
       VALUES ($1, $2, $3, $4, $5, 'pending', ${NOW_MS}) ON CONFLICT (id) DO NOTHING RETURNING *`,
      [init.id, init.kind, lease.sessionKey, init.executionId, payload],
    )
    if (rows[0]) return { record: journalRows.promise(rows[0]), created: true }
    const existing = (await this.#c.query(`SELECT * FROM ${this.#s}.promises WHERE id = $1`, [init.id]))
      .rows[0] as Row
    journalGuards.samePromise(init, payload, {
      kind: existing.kind,
      executionId: existing.execution_id,
      payload: existing.payload,
    })
    return { record: journalRows.promise(existing), created: false }
  }

  async getPromise(id: string): Promise<HitlPromiseRecord | undefined> {
    const { rows } = await this.#c.query(`SELECT * FROM ${this.#s}.promises WHERE id = $1`, [id])
    return rows[0] && journalRows.promise(rows[0])
  }

  async listPromises(filter: HitlPromiseFilter): Promise<HitlPromiseRecord[]> {
    const { rows } = await this.#c.query(
      `SELECT * FROM ${this.#s}.promises WHERE ($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR state = $2)
         AND ($3::text IS NULL OR session_key = $3) AND ($4::text IS NULL OR execution_id = $4)
       ORDER BY position`,
      [filter.kind ?? null, filter.state ?? null, filter.sessionKey ?? null, filter.executionId ?? null],
    )
    return rows.map(journalRows.promise)
  }

  async settlePromise(id: string, settlement: EncodedSettlement): Promise<Settled<HitlPromiseRecord>> {
    const { rows } = await this.#c.query(`SELECT * FROM ${this.#s}.promises WHERE id = $1 FOR UPDATE`, [id])
    const row = rows[0] as Row | undefined
    if (!row) throw journalErrors.unknownRecord('promise', id)
    const result = await this.#rows.settle(
      'promises',
      'id = $3',
      [id],
      row,
      `promise ${JSON.stringify(id)}`,
      settlement,
    )
    if (result.settled) await this.#rows.notify(promiseWaitKey(id))
    return { record: journalRows.promise(result.row), settled: result.settled }
  }

  async putCheckpoint(lease: LeaseToken, init: CheckpointInit): Promise<Created<CheckpointRecord>> {
    await this.#rows.fence(lease)
    const { rows } = await this.#c.query(
      `INSERT INTO ${this.#s}.checkpoints (id, session_key, sequence, blob, created_at)
       VALUES ($1, $2, $3, $4, ${NOW_MS}) ON CONFLICT (id) DO NOTHING RETURNING *`,
      [init.id, lease.sessionKey, init.sequence, Buffer.from(init.blob)],
    )
    if (rows[0]) return { record: journalRows.checkpoint(rows[0]), created: true }
    const existing = (await this.#c.query(`SELECT * FROM ${this.#s}.checkpoints WHERE id = $1`, [init.id]))
      .rows[0] as Row
    journalGuards.sameCheckpoint(init, lease.sessionKey, {
      sessionKey: existing.session_key,
      blob: existing.blob as Buffer,
    })
    return { record: journalRows.checkpoint(existing), created: false }
  }

  async getCheckpoint(id: string): Promise<CheckpointRecord | undefined> {
    const { rows } = await this.#c.query(`SELECT * FROM ${this.#s}.checkpoints WHERE id = $1`, [id])
    return rows[0] && journalRows.checkpoint(rows[0])
  }

  async latestCheckpoint(sessionKey: string): Promise<CheckpointRecord | undefined> {
    const { rows } = await this.#c.query(
      `SELECT * FROM ${this.#s}.checkpoints WHERE session_key = $1 ORDER BY sequence DESC, position DESC LIMIT 1`,
      [sessionKey],
    )
    return rows[0] && journalRows.checkpoint(rows[0])
  }
}

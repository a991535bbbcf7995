import type { LeaseToken } from '@capsule/core'
import {
  checkResettle,
  type EncodedSettlement,
  journalErrors,
  journalGuards,
  journalRows,
  type JournalRow as Row,
} from '@capsule/core/journal'
import type pg from 'pg'

// Times come from the server's clock, so hosts with skewed clocks agree on when a lease lapses.
export const NOW_MS = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint'

/** What a store queries: a transaction's client for writes, the pool (or that client) for reads. */
export type Queryable = pg.Pool | pg.ClientBase

/**
 * The row-level steps the journal's operations are made of: reading a row with its lock, fencing a lease,
 * settling a row once, notifying waiters. Table names are qualified by the schema (already quoted).
 */
export class PostgresRows {
  readonly #c: Queryable
  readonly #s: string
  readonly #channel: string

  constructor(queryable: Queryable, quotedSchema: string, channel: string) {
    this.#c = queryable
    this.#s = quotedSchema
    this.#channel = channel
  }

  // Settles a pending row; a final one (seen first, or settled by a racing transaction) must hold the same
  // outcome, else CONFLICT. Returns the row as it now stands and whether this call settled it.
  async settle(
    table: string,
    where: string,
    keys: unknown[],
    row: Row,
    what: string,
    settlement: EncodedSettlement,
  ): Promise<{ row: Row; settled: boolean }> {
    let current = row
    if (current.state === 'pending') {
      const { rows } = await this.#c.query(
        `UPDATE ${this.#s}.${table} SET state = $1, outcome = $2, settled_at = ${NOW_MS}
         WHERE ${where} AND state = 'pending' RETURNING *`,
        [settlement.state, settlement.outcome, ...keys],
      )
      if (rows[0]) return { row: rows[0], settled: true }
      current = (await this.#c.query(`SELECT * FROM ${this.#s}.${table} WHERE ${where}`, keys)).rows[0]
    }
    checkResettle(what, journalRows.storedOutcome(current), settlement)
    return { row: current, settled: false }
  }

  async notify(key: string): Promise<void> {
    await this.#c.query('SELECT pg_notify($1, $2)', [this.#channel, key])
  }

  async session(key: string, lock: '' | 'FOR SHARE' | 'FOR UPDATE'): Promise<Row> {
    const { rows } = await this.#c.query(
      `SELECT owner, epoch FROM ${this.#s}.sessions WHERE key = $1 ${lock}`,
      [key],
    )
    if (!rows[0]) throw journalErrors.unknownRecord('session', key)
    return rows[0]
  }

  async fence(lease: LeaseToken, lock: 'FOR SHARE' | 'FOR UPDATE' = 'FOR SHARE'): Promise<void> {
    journalGuards.fence(lease, await this.session(lease.sessionKey, lock))
  }

  async execution(id: string, lease: LeaseToken): Promise<Row> {
    const { rows } = await this.#c.query(`SELECT * FROM ${this.#s}.executions WHERE id = $1`, [id])
    return journalGuards.ownExecution(id, lease, rows[0] as Row | undefined, (row) => row.session_key)
  }

  async call(executionId: string, key: string): Promise<Row | undefined> {
    const { rows } = await this.#c.query(
      `SELECT * FROM ${this.#s}.calls WHERE execution_id = $1 AND key = $2`,
      [executionId, key],
    )
    return rows[0]
  }
}

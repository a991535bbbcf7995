// Closed ─open()→ Open ─close()→ Closed (final); an open that cannot reach the server may be retried
import {
  CapsuleError,
  isCapsuleError,
  type Journal,
  type JournalInfo,
  type JournalState,
  type JournalWaitOptions,
} from '@capsule/core'
import { JournalWaiters, journalErrors, journalFromStore } from '@capsule/core/journal'
import pg from 'pg'
import { mapPostgresError } from './postgresErrors.js'
import { PostgresJournalStore } from './postgresJournalStore.js'
import type { Queryable } from './postgresRows.js'
import { migrate } from './postgresSchema.js'

/** The PostgreSQL schema the journal's tables live in unless told otherwise. */
export const DEFAULT_POSTGRES_SCHEMA = 'capsule_journal'
const DEFAULT_CONNECTION_TIMEOUT_MS = 10_000
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,39}$/

/** Options of {@link postgresJournal}: a connection string, or a pool the caller owns. */
export interface PostgresJournalOptions {
  /** e.g. `postgresql://capsule@db.internal:5432/app`. The journal creates and ends its own pool. */
  connectionString?: string
  /** A pg Pool to use instead; the journal never ends it. One of its connections is held for LISTEN. */
  pool?: pg.Pool
  /** The schema of the journal's tables (created when missing). Default `capsule_journal`. */
  schema?: string
  /**
   * `synchronous_commit` of the journal's transactions. `off` trades the last few hundred milliseconds of
   * commits on a server crash for speed (never consistency); default: the server's setting (normally `on`).
   */
  synchronousCommit?: 'on' | 'off'
  /** How long to wait for a connection, in ms (default 10 000), before failing JOURNAL_UNAVAILABLE. */
  connectionTimeoutMs?: number
  /** Connections of the journal's own pool (default 10). */
  maxConnections?: number
}

/**
 * A {@link Journal} in PostgreSQL, shared by many hosts: leases claimed with FOR UPDATE SKIP LOCKED and
 * fenced by epoch, times from the server's clock, waits woken by LISTEN/NOTIFY (no polling), schema
 * migrations under an advisory lock. Any failure to reach the server is JOURNAL_UNAVAILABLE: nothing is
 * assumed written. A commit interrupted by a lost connection is reported unavailable too, though the
 * server may have applied it; every write is safe to retry (create-or-get, settle-once).
 */
export function postgresJournal(options: PostgresJournalOptions): Journal {
  const config = parseOptions(options)
  const ownsPool = options.pool === undefined
  const pool =
    options.pool ??
    new pg.Pool({
      connectionString: config.connectionString,
      max: config.maxConnections,
      connectionTimeoutMillis: config.connectionTimeoutMs,
    })
  // An idle connection's error (a server restart) must not crash the host; the next query reports it.
  if (ownsPool) pool.on('error', () => {})
  const channel = `capsule_journal_${config.schema}`
  // A store is bound to what it queries: the pool for reads, a transaction's client for writes.
  const storeOn = (queryable: Queryable) => new PostgresJournalStore(queryable, config.schema, channel)
  const where = `schema ${config.schema}`
  const map = (error: unknown) => mapPostgresError(error, where)
  const waiters = new JournalWaiters()
  let opening: Promise<JournalInfo> | undefined
  let listening: Promise<pg.PoolClient> | undefined
  let closed = false

  const transaction = async <T>(work: (client: pg.PoolClient) => T | Promise<T>): Promise<T> => {
    let client: pg.PoolClient
    try {
      client = await pool.connect()
    } catch (error) {
      throw map(error)
    }
    // A connection cut between two queries of this transaction emits 'error' on the checked-out client (the
    // pool listens only while a client is idle): unheard, that would crash the host. The failing query
    // reports it instead.
    const ignore = (): void => {}
    client.on('error', ignore)
    try {
      await client.query(
        config.synchronousCommit
          ? `BEGIN; SET LOCAL synchronous_commit = ${config.synchronousCommit}`
          : 'BEGIN',
      )
      const result = await work(client)
      await client.query('COMMIT')
      client.off('error', ignore)
      client.release()
      return result
    } catch (error) {
      try {
        await client.query('ROLLBACK')
        client.off('error', ignore)
        client.release()
      } catch {
        // Destroyed, not returned: keep ignoring its last errors.
        client.release(true)
      }
      throw map(error)
    }
  }

  const open = (): Promise<JournalInfo> => {
    if (closed) return Promise.reject(journalErrors.closed('postgres'))
    opening ??= transaction((client) => migrate(client, config.schema)).then(
      (schemaVersion): JournalInfo => ({ backend: 'postgres', schemaVersion }),
      (error: unknown) => {
        // An unreachable server may come back; a newer or foreign schema will not.
        if (isCapsuleError(error, 'JOURNAL_UNAVAILABLE')) opening = undefined
        throw error
      },
    )
    return opening
  }

  const ready = async () => {
    await open()
    if (closed) throw journalErrors.closed('postgres')
  }
  const write = async <T>(work: (client: pg.PoolClient) => T | Promise<T>): Promise<T> => {
    await ready()
    return transaction(work)
  }
  const read = async <T>(work: (pool: pg.Pool) => T | Promise<T>): Promise<T> => {
    await ready()
    try {
      return await work(pool)
    } catch (error) {
      throw map(error)
    }
  }

  // One connection LISTENs for the journal; a NOTIFY carries the waiter key of what became final. When it
  // is lost, every wait fails JOURNAL_UNAVAILABLE rather than sleep through settles it can no longer hear.
  const listen = (): Promise<pg.PoolClient> => {
    listening ??= (async () => {
      const client = await pool.connect()
      const lost = (cause?: unknown) => {
        if (listening === undefined) return
        listening = undefined
        client.release(true)
        waiters.rejectAll(
          new CapsuleError(
            'JOURNAL_UNAVAILABLE',
            `the PostgreSQL journal (${where}) lost its LISTEN connection`,
            {
              cause,
              details: { reason: 'unreachable' },
            },
          ),
        )
      }
      client.on('notification', (message) => {
        if (message.channel === channel && message.payload) waiters.notify(message.payload)
      })
      client.on('error', lost)
      client.on('end', lost)
      try {
        await client.query(`LISTEN "${channel}"`)
      } catch (error) {
        lost(error)
        throw error
      }
      return client
    })().catch((error: unknown) => {
      listening = undefined
      throw map(error)
    })
    return listening
  }

  const wait = async <T extends { readonly state: JournalState }>(
    key: string,
    what: string,
    readRecord: () => Promise<T | undefined>,
    options: JournalWaitOptions,
  ): Promise<T> => {
    await ready()
    // LISTEN first: a settle between the first read and LISTEN would otherwise be missed.
    await listen()
    return waiters.wait(key, what, readRecord, options)
  }

  return journalFromStore({
    open,
    async close() {
      if (closed) return
      closed = true
      waiters.rejectAll(journalErrors.closed('postgres'))
      const listener = listening
      listening = undefined
      await listener?.then((client) => client.release(true)).catch(() => {})
      if (ownsPool) await pool.end().catch(() => {})
    },
    read: (operation) => read((queryable) => operation(storeOn(queryable))),
    write: (operation) => write((client) => operation(storeOn(client))),
    wait,
  })
}

function parseOptions(options: PostgresJournalOptions) {
  const fail = (message: string) => new CapsuleError('INVALID_OPTIONS', message)
  if (typeof options !== 'object' || options === null)
    throw fail('postgresJournal needs { connectionString } or { pool }')
  const { connectionString, pool } = options
  if ((connectionString === undefined) === (pool === undefined)) {
    throw fail('postgresJournal needs exactly one of connectionString and pool')
  }
  if (connectionString !== undefined && (typeof connectionString !== 'string' || connectionString === '')) {
    throw fail('postgresJournal.connectionString must be a non-empty string')
  }
  if (pool !== undefined && !(pool instanceof pg.Pool)) throw fail('postgresJournal.pool must be a pg Pool')
  const schema = options.schema ?? DEFAULT_POSTGRES_SCHEMA
  if (typeof schema !== 'string' || !SCHEMA_NAME.test(schema)) {
    throw fail(
      `postgresJournal.schema must be a lowercase SQL identifier of at most 40 characters (got ${JSON.stringify(schema)})`,
    )
  }
  if (
    options.synchronousCommit !== undefined &&
    options.synchronousCommit !== 'on' &&
    options.synchronousCommit !== 'off'
  ) {
    throw fail(
      `postgresJournal.synchronousCommit must be 'on' or 'off' (got ${JSON.stringify(options.synchronousCommit)})`,
    )
  }
  const positive = (name: string, value: number | undefined, fallback: number) => {
    if (value === undefined) return fallback
    if (!Number.isInteger(value) || value < 1)
      throw fail(`postgresJournal.${name} must be an integer ≥ 1 (got ${value})`)
    return value
  }
  return {
    connectionString,
    schema,
    synchronousCommit: options.synchronousCommit,
    connectionTimeoutMs: positive(
      'connectionTimeoutMs',
      options.connectionTimeoutMs,
      DEFAULT_CONNECTION_TIMEOUT_MS,
    ),
    maxConnections: positive('maxConnections', options.maxConnections, 10),
  }
}

// Closed ─open()→ Open ─close()→ Closed (final); an open that fails stays failed with its error
import { closeSync, openSync } from 'node:fs'
import { CapsuleError, type Journal, type JournalInfo } from '@capsule/core'
import { type JournalStore, JournalWaiters, journalErrors, journalFromStore } from '@capsule/core/journal'
import Database from 'better-sqlite3'
import { mapSqliteError } from './sqliteErrors.js'
import { SqliteJournalStore } from './sqliteJournalStore.js'
import { checkSqliteHeader, migrate } from './sqliteSchema.js'

/** How often a waiting journal looks for settles made by other processes, unless told otherwise. */
export const DEFAULT_SQLITE_POLL_INTERVAL_MS = 50
/** How long a write waits for another process's transaction before failing JOURNAL_UNAVAILABLE. */
export const DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5_000

/** Options of {@link sqliteJournal}. */
export interface SqliteJournalOptions {
  /** The database file; created with mode 0600 when missing (its directory must exist). */
  path: string
  /**
   * `normal` (the default): WAL with synchronous=NORMAL — a commit survives a crash of the process, and
   * the last commits may be lost on power loss. `full`: synchronous=FULL — every commit is fsynced and
   * survives power loss; writes that arrive in the same event-loop turn share one transaction and one fsync.
   */
  synchronous?: 'normal' | 'full'
  /** Group writes of one event-loop turn into one transaction. Default: on for `full`, off for `normal`. */
  groupCommit?: boolean
  /** How often a pending wait checks for settles by other processes, in ms (default 50). */
  pollIntervalMs?: number
  /** How long a write waits for another process's lock, in ms (default 5000). */
  busyTimeoutMs?: number
}

interface QueuedWrite {
  run(): unknown
  resolve(value: unknown): void
  reject(error: unknown): void
}

/**
 * A {@link Journal} in one SQLite file (better-sqlite3, WAL): durable across crashes and restarts, shared
 * by every process on the machine that opens the same file. Waits wake at once for settles made through
 * this instance and within `pollIntervalMs` for settles by other processes (PRAGMA data_version is polled
 * only while someone waits).
 */
export function sqliteJournal(options: SqliteJournalOptions): Journal {
  const { path, synchronous, pollIntervalMs, busyTimeoutMs } = parseOptions(options)
  const groupCommit = options.groupCommit ?? synchronous === 'full'
  let db: Database.Database | undefined
  let store: SqliteJournalStore | undefined
  let opening: Promise<JournalInfo> | undefined
  let closed = false
  let queue: QueuedWrite[] = []
  let pollTimer: NodeJS.Timeout | undefined
  let dataVersion = 0

  const poll = () => {
    if (!db) return
    try {
      const version = db.pragma('data_version', { simple: true }) as number
      if (version !== dataVersion) {
        dataVersion = version
        waiters.notifyAll()
      }
    } catch (error) {
      waiters.rejectAll(mapSqliteError(error, path))
    }
  }
  const waiters = new JournalWaiters({
    onFirst: () => {
      pollTimer = setInterval(poll, pollIntervalMs)
    },
    onEmpty: () => {
      clearInterval(pollTimer)
      pollTimer = undefined
    },
  })

  const openDatabase = (): JournalInfo => {
    checkSqliteHeader(path)
    createPrivately(path)
    const database = new Database(path, { timeout: busyTimeoutMs })
    try {
      const mode = database.pragma('journal_mode = WAL', { simple: true })
      if (mode !== 'wal') {
        throw new CapsuleError(
          'JOURNAL_UNAVAILABLE',
          `${path} cannot be put in WAL mode (it is in ${String(mode)})`,
        )
      }
      database.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
      database.pragma('foreign_keys = ON')
      const schemaVersion = migrate(database, path)
      dataVersion = database.pragma('data_version', { simple: true }) as number
      db = database
      store = new SqliteJournalStore(database)
      return { backend: 'sqlite', schemaVersion }
    } catch (error) {
      database.close()
      throw error
    }
  }

  const open = (): Promise<JournalInfo> => {
    if (closed) return Promise.reject(journalErrors.closed('sqlite'))
    opening ??= new Promise<JournalInfo>((resolve) => resolve(openDatabase())).catch((error: unknown) => {
      throw mapSqliteError(error, path)
    })
    return opening
  }

  const read = async <T>(operation: (s: JournalStore) => T | Promise<T>): Promise<T> => {
    await open()
    if (closed || !store) throw journalErrors.closed('sqlite')
    try {
      return operation(store)
    } catch (error) {
      throw mapSqliteError(error, path)
    }
  }

  // Writes run in IMMEDIATE transactions; with group commit, all writes of one turn share one (each in its
  // own savepoint, so one refused write does not undo the others) and one fsync.
  const flush = () => {
    const batch = queue
    queue = []
    if (batch.length === 0) return
    if (closed || !db) {
      for (const write of batch) write.reject(journalErrors.closed('sqlite'))
      return
    }
    const database = db
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = []
    try {
      database
        .transaction(() => {
          for (const write of batch) {
            try {
              outcomes.push({ ok: true, value: database.transaction(write.run)() })
            } catch (error) {
              outcomes.push({ ok: false, error })
            }
          }
        })
        .immediate()
    } catch (error) {
      const mapped = mapSqliteError(error, path)
      for (const write of batch) write.reject(mapped)
      return
    }
    batch.forEach((write, index) => {
      const outcome = outcomes[index]!
      if (outcome.ok) write.resolve(outcome.value)
      else write.reject(mapSqliteError(outcome.error, path))
    })
  }

  const write = async <T>(operation: (s: JournalStore) => T | Promise<T>): Promise<T> => {
    await open()
    if (closed || !store) throw journalErrors.closed('sqlite')
    const current = store
    return new Promise<T>((resolve, reject) => {
      queue.push({ run: () => operation(current), resolve: resolve as (value: unknown) => void, reject })
      if (!groupCommit) flush()
      else if (queue.length === 1) setImmediate(flush)
    })
  }

  // The store is synchronous: its operations return values, never promises, so each write is whole inside
  // its transaction.
  return journalFromStore({
    open,
    async close() {
      if (closed) return
      closed = true
      flush()
      waiters.rejectAll(journalErrors.closed('sqlite'))
      db?.close()
      db = undefined
      store = undefined
    },
    read,
    write,
    wait: async (key, what, readRecord, options) => {
      await open()
      return waiters.wait(key, what, readRecord, options)
    },
    // Settles by other processes are seen by polling data_version; this instance's wake its waiters at once.
    settled: (key) => waiters.notify(key),
  })
}

function parseOptions(options: SqliteJournalOptions) {
  const fail = (message: string) => new CapsuleError('INVALID_OPTIONS', message)
  if (typeof options !== 'object' || options === null) throw fail('sqliteJournal needs { path }')
  if (typeof options.path !== 'string' || options.path === '' || options.path === ':memory:') {
    throw fail(`sqliteJournal.path must be a file path (got ${JSON.stringify(options.path)})`)
  }
  const synchronous = options.synchronous ?? 'normal'
  if (synchronous !== 'normal' && synchronous !== 'full') {
    throw fail(`sqliteJournal.synchronous must be 'normal' or 'full' (got ${JSON.stringify(synchronous)})`)
  }
  const positive = (name: string, value: number | undefined, fallback: number) => {
    if (value === undefined) return fallback
    if (!Number.isInteger(value) || value < 1)
      throw fail(`sqliteJournal.${name} must be an integer ≥ 1 (got ${value})`)
    return value
  }
  return {
    path: options.path,
    synchronous,
    pollIntervalMs: positive('pollIntervalMs', options.pollIntervalMs, DEFAULT_SQLITE_POLL_INTERVAL_MS),
    busyTimeoutMs: positive('busyTimeoutMs', options.busyTimeoutMs, DEFAULT_SQLITE_BUSY_TIMEOUT_MS),
  }
}

// The journal holds cell sources and capability results: readable by its owner only. SQLite gives the
// -wal and -shm files the database file's mode.
function createPrivately(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new CapsuleError('JOURNAL_UNAVAILABLE', `cannot create the journal file ${path}`, {
        cause: error,
        details: { path },
      })
    }
  }
}

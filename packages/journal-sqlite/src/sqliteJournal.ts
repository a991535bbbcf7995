// Closed ─open()→ Open ─close()→ Closed (final); an open that fails stays failed with its error
import { closeSync, openSync } from 'node:fs'
import { CapsuleError, type Journal, type JournalInfo, type LeaseToken } from '@capsule/core'
import {
  callKey,
  encodeSettlement,
  executionWaitKey,
  JournalWaiters,
  journalErrors,
  journalInput,
  promiseWaitKey,
} from '@capsule/core/journal'
import Database from 'better-sqlite3'
import { mapSqliteError } from './sqliteErrors.js'
import { SqliteJournalStore } from './sqliteJournalStore.js'
import { checkSqliteHeader, migrate } from './sqliteSchema.js'

/** How often a waiting journal looks for settles made by other processes, unless told otherwise. */
export const DEFAULT_SQLITE_POLL_INTERVAL_MS = 50
/** How long a write waits for another process's transaction before failing JOURNAL_UNAVAILABLE. */
export const DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 5_000
const DEFAULT_LIST_LIMIT = 1000

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

  const read = async <T>(operation: (s: SqliteJournalStore) => T): Promise<T> => {
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

  const write = async <T>(operation: (s: SqliteJournalStore, wakes: string[]) => T): Promise<T> => {
    await open()
    if (closed || !store) throw journalErrors.closed('sqlite')
    const current = store
    const wakes: string[] = []
    const result = await new Promise<T>((resolve, reject) => {
      queue.push({
        run: () => operation(current, wakes),
        resolve: resolve as (value: unknown) => void,
        reject,
      })
      if (!groupCommit) flush()
      else if (queue.length === 1) setImmediate(flush)
    })
    for (const key of wakes) waiters.notify(key)
    return result
  }

  const lease = (token: LeaseToken) => journalInput.leaseToken(token)
  const listLimit = (value: number | undefined) =>
    value === undefined ? DEFAULT_LIST_LIMIT : journalInput.limit(value)
  const checked = <T>(parse: () => T) => new Promise<T>((resolve) => resolve(parse()))

  const journal: Journal = {
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

    ensureSession: (init) =>
      checked(() => journalInput.sessionInit(init)).then((i) => write((s) => s.ensureSession(i))),
    getSession: (key) =>
      checked(() => journalInput.key(key, 'session key')).then((k) => read((s) => s.getSession(k))),
    claimLease: (claim) =>
      checked(() => journalInput.leaseClaim(claim)).then((c) => write((s) => s.claimLease(c))),
    renewLease: (token, ttlMs) =>
      checked(() => [lease(token), journalInput.ttlMs(ttlMs)] as const).then(([l, t]) =>
        write((s) => s.renewLease(l, t)),
      ),
    releaseLease: (token) => checked(() => lease(token)).then((l) => write((s) => s.releaseLease(l))),

    createExecution: (init) =>
      checked(() => journalInput.executionInit(init)).then((i) => write((s) => s.createExecution(i))),
    getExecution: (id) =>
      checked(() => journalInput.key(id, 'execution id')).then((k) => read((s) => s.getExecution(k))),
    listExecutions: (key) =>
      checked(() => journalInput.key(key, 'session key')).then((k) => read((s) => s.listExecutions(k))),
    listClaimable: (owner, options) =>
      checked(() => [journalInput.key(owner, 'owner'), listLimit(options?.limit)] as const).then(([o, l]) =>
        read((s) => s.listClaimable(o, l)),
      ),
    startExecution: (token, id) =>
      checked(() => [lease(token), journalInput.key(id, 'execution id')] as const).then(([l, k]) =>
        write((s) => s.startExecution(l, k)),
      ),
    settleExecution: (token, id, settlement) =>
      checked(
        () => [lease(token), journalInput.key(id, 'execution id'), encodeSettlement(settlement)] as const,
      ).then(([l, k, e]) => write((s, wakes) => s.settleExecution(l, k, e, wakes))),

    beginCall: (token, init) =>
      checked(() => {
        const call = journalInput.callInit(init)
        return [lease(token), call, callKey(call.capability, call.argsHash, call.ordinal)] as const
      }).then(([l, c, k]) => write((s) => s.beginCall(l, c, k))),
    settleCall: (token, executionId, key, settlement) =>
      checked(
        () =>
          [
            lease(token),
            journalInput.key(executionId, 'execution id'),
            journalInput.key(key, 'call key'),
            encodeSettlement(settlement),
          ] as const,
      ).then(([l, e, k, o]) => write((s) => s.settleCall(l, e, k, o))),
    listCalls: (id) =>
      checked(() => journalInput.key(id, 'execution id')).then((k) => read((s) => s.listCalls(k))),

    createPromise: (token, init) =>
      checked(() => [lease(token), journalInput.promiseInit(init)] as const).then(([l, i]) =>
        write((s) => s.createPromise(l, i)),
      ),
    getPromise: (id) =>
      checked(() => journalInput.key(id, 'promise id')).then((k) => read((s) => s.getPromise(k))),
    listPromises: (filter) =>
      checked(() => journalInput.promiseFilter(filter)).then((f) => read((s) => s.listPromises(f))),
    settlePromise: (id, settlement) =>
      checked(() => [journalInput.key(id, 'promise id'), encodeSettlement(settlement)] as const).then(
        ([k, e]) => write((s, wakes) => s.settlePromise(k, e, wakes)),
      ),

    waitExecution: (id, options) =>
      checked(() => [journalInput.key(id, 'execution id'), journalInput.waitOptions(options)] as const).then(
        async ([k, o]) => {
          await open()
          return waiters.wait(
            executionWaitKey(k),
            `execution ${JSON.stringify(k)}`,
            () => journal.getExecution(k),
            o,
          )
        },
      ),
    waitPromise: (id, options) =>
      checked(() => [journalInput.key(id, 'promise id'), journalInput.waitOptions(options)] as const).then(
        async ([k, o]) => {
          await open()
          return waiters.wait(
            promiseWaitKey(k),
            `promise ${JSON.stringify(k)}`,
            () => journal.getPromise(k),
            o,
          )
        },
      ),

    putCheckpoint: (token, init) =>
      checked(() => [lease(token), journalInput.checkpointInit(init)] as const).then(([l, i]) =>
        write((s) => s.putCheckpoint(l, i)),
      ),
    getCheckpoint: (id) =>
      checked(() => journalInput.key(id, 'checkpoint id')).then((k) => read((s) => s.getCheckpoint(k))),
    latestCheckpoint: (key) =>
      checked(() => journalInput.key(key, 'session key')).then((k) => read((s) => s.latestCheckpoint(k))),
  }
  return journal
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

// Open ─close()→ Closed (final)
import { type Clock, systemClock } from '../util/clock.js'
import type { Journal, JournalInfo } from './journal.js'
import { journalErrors } from './journalErrors.js'
import { journalFromStore } from './journalFromStore.js'
import { JournalWaiters } from './journalWaiters.js'
import { MemoryJournalStore } from './memoryJournalStore.js'

/** The memory journal's schema version: it has no storage to migrate, so it never changes. */
const MEMORY_SCHEMA_VERSION = 1

/** Options of {@link memoryJournal}. */
export interface MemoryJournalOptions {
  /** The clock of created-at times and lease expiry (tests may pass a fake). */
  clock?: Clock
}

/** A {@link Journal} in this process's memory, plus a way to open another handle onto the same records. */
export interface MemoryJournal extends Journal {
  /**
   * Another journal on the same records, with its own waits and its own close — what a second process
   * is to a durable backend, for hosts and tests in one process.
   */
  connect(): MemoryJournal
}

/**
 * The default journal: records live in this process and die with it (no durability), with every rule of
 * the contract — idempotency, state machine, fencing, waits woken by in-process events.
 */
export function memoryJournal(options: MemoryJournalOptions = {}): MemoryJournal {
  return openMemoryJournal(new MemoryJournalStore(options.clock ?? systemClock))
}

function openMemoryJournal(store: MemoryJournalStore): MemoryJournal {
  let closed = false
  const waiters = new JournalWaiters()
  const unsubscribe = store.subscribe((key) => waiters.notify(key))

  // Every operation is asynchronous, as on a durable backend, and fails once closed.
  const run = <T>(operation: () => T | Promise<T>): Promise<T> => {
    try {
      if (closed) throw journalErrors.closed('memory')
      return Promise.resolve(operation())
    } catch (error) {
      return Promise.reject(error)
    }
  }
  const onStore = <T>(operation: (s: MemoryJournalStore) => T | Promise<T>) => run(() => operation(store))

  const journal = journalFromStore({
    open: () => run((): JournalInfo => ({ backend: 'memory', schemaVersion: MEMORY_SCHEMA_VERSION })),
    async close() {
      if (closed) return
      closed = true
      unsubscribe()
      waiters.rejectAll(journalErrors.closed('memory'))
    },
    read: onStore,
    write: onStore,
    wait: (key, what, readRecord, options) => run(() => waiters.wait(key, what, readRecord, options)),
  })
  return { ...journal, connect: () => openMemoryJournal(store) }
}

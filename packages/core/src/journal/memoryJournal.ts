// Open ─close()→ Closed (final)
import { type Clock, systemClock } from '../util/clock.js'
import { callKey } from './canonicalHash.js'
import type { Journal, JournalInfo, JournalWaitOptions } from './journal.js'
import { journalErrors } from './journalErrors.js'
import { journalInput } from './journalInput.js'
import type { ExecutionRecord, HitlPromiseRecord, LeaseToken, Settlement } from './journalRecords.js'
import { encodeSettlement } from './journalValue.js'
import { executionWaitKey, JournalWaiters, promiseWaitKey } from './journalWaiters.js'
import { MemoryJournalStore } from './memoryJournalStore.js'

/** The memory journal's schema version: it has no storage to migrate, so it never changes. */
const MEMORY_SCHEMA_VERSION = 1
const DEFAULT_LIST_LIMIT = 1000

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
  const run = <T>(operation: () => T): Promise<T> => {
    try {
      if (closed) throw journalErrors.closed('memory')
      return Promise.resolve(operation())
    } catch (error) {
      return Promise.reject(error)
    }
  }
  const lease = (token: LeaseToken) => journalInput.leaseToken(token)
  const listLimit = (value: number | undefined) =>
    value === undefined ? DEFAULT_LIST_LIMIT : journalInput.limit(value)

  const journal: MemoryJournal = {
    open: () => run((): JournalInfo => ({ backend: 'memory', schemaVersion: MEMORY_SCHEMA_VERSION })),
    async close() {
      if (closed) return
      closed = true
      unsubscribe()
      waiters.rejectAll(journalErrors.closed('memory'))
    },
    connect: () => openMemoryJournal(store),

    ensureSession: (init) => run(() => store.ensureSession(journalInput.sessionInit(init))),
    getSession: (key) => run(() => store.getSession(journalInput.key(key, 'session key'))),
    claimLease: (claim) => run(() => store.claimLease(journalInput.leaseClaim(claim))),
    renewLease: (token, ttlMs) => run(() => store.renewLease(lease(token), journalInput.ttlMs(ttlMs))),
    releaseLease: (token) => run(() => store.releaseLease(lease(token))),

    createExecution: (init) => run(() => store.createExecution(journalInput.executionInit(init))),
    getExecution: (id) => run(() => store.getExecution(journalInput.key(id, 'execution id'))),
    listExecutions: (key) => run(() => store.listExecutions(journalInput.key(key, 'session key'))),
    listClaimable: (owner, options) =>
      run(() => store.listClaimable(journalInput.key(owner, 'owner'), listLimit(options?.limit))),
    startExecution: (token, id) =>
      run(() => store.startExecution(lease(token), journalInput.key(id, 'execution id'))),
    settleExecution: (token, id, settlement: Settlement) =>
      run(() =>
        store.settleExecution(
          lease(token),
          journalInput.key(id, 'execution id'),
          encodeSettlement(settlement),
        ),
      ),

    beginCall: (token, init) =>
      run(() => {
        const call = journalInput.callInit(init)
        return store.beginCall(lease(token), call, callKey(call.capability, call.argsHash, call.ordinal))
      }),
    settleCall: (token, executionId, key, settlement) =>
      run(() =>
        store.settleCall(
          lease(token),
          journalInput.key(executionId, 'execution id'),
          journalInput.key(key, 'call key'),
          encodeSettlement(settlement),
        ),
      ),
    listCalls: (executionId) => run(() => store.listCalls(journalInput.key(executionId, 'execution id'))),

    createPromise: (token, init) =>
      run(() => store.createPromise(lease(token), journalInput.promiseInit(init))),
    getPromise: (id) => run(() => store.getPromise(journalInput.key(id, 'promise id'))),
    listPromises: (filter) => run(() => store.listPromises(journalInput.promiseFilter(filter))),
    settlePromise: (id, settlement) =>
      run(() => store.settlePromise(journalInput.key(id, 'promise id'), encodeSettlement(settlement))),

    waitExecution(id: string, options?: JournalWaitOptions): Promise<ExecutionRecord> {
      return run(
        () => [journalInput.key(id, 'execution id'), journalInput.waitOptions(options)] as const,
      ).then(([checked, wait]) =>
        waiters.wait(
          executionWaitKey(checked),
          `execution ${JSON.stringify(checked)}`,
          () => journal.getExecution(checked),
          wait,
        ),
      )
    },
    waitPromise(id: string, options?: JournalWaitOptions): Promise<HitlPromiseRecord> {
      return run(() => [journalInput.key(id, 'promise id'), journalInput.waitOptions(options)] as const).then(
        ([checked, wait]) =>
          waiters.wait(
            promiseWaitKey(checked),
            `promise ${JSON.stringify(checked)}`,
            () => journal.getPromise(checked),
            wait,
          ),
      )
    },

    putCheckpoint: (token, init) =>
      run(() => store.putCheckpoint(lease(token), journalInput.checkpointInit(init))),
    getCheckpoint: (id) => run(() => store.getCheckpoint(journalInput.key(id, 'checkpoint id'))),
    latestCheckpoint: (key) => run(() => store.latestCheckpoint(journalInput.key(key, 'session key'))),
  }
  return journal
}

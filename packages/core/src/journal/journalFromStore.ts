import { callKey } from './canonicalHash.js'
import type {
  CallInit,
  CheckpointInit,
  ExecutionInit,
  HitlPromiseFilter,
  HitlPromiseInit,
  Journal,
  JournalInfo,
  JournalWaitOptions,
  LeaseClaim,
  SessionInit,
} from './journal.js'
import { journalInput } from './journalInput.js'
import type {
  CallRecord,
  CheckpointRecord,
  Created,
  DurableSessionRecord,
  ExecutionRecord,
  HitlPromiseRecord,
  JournalState,
  Lease,
  LeaseToken,
  Settled,
} from './journalRecords.js'
import { type EncodedSettlement, encodeSettlement } from './journalValue.js'
import { executionWaitKey, promiseWaitKey } from './journalWaiters.js'

const DEFAULT_LIST_LIMIT = 1000

type Awaitable<T> = T | Promise<T>

/**
 * A journal's operations on checked input: ids and keys validated, settlements encoded, call keys computed.
 * A store enforces the contract's rules (idempotency, state machine, fencing) on its storage. For
 * implementations; a synchronous store returns values, an asynchronous one promises.
 */
export interface JournalStore {
  ensureSession(init: SessionInit): Awaitable<Created<DurableSessionRecord>>
  getSession(key: string): Awaitable<DurableSessionRecord | undefined>
  claimLease(claim: LeaseClaim): Awaitable<Lease | null>
  renewLease(lease: LeaseToken, ttlMs: number): Awaitable<Lease>
  releaseLease(lease: LeaseToken): Awaitable<void>

  createExecution(init: ExecutionInit): Awaitable<Created<ExecutionRecord>>
  getExecution(id: string): Awaitable<ExecutionRecord | undefined>
  listExecutions(sessionKey: string): Awaitable<ExecutionRecord[]>
  listClaimable(owner: string, limit: number): Awaitable<ExecutionRecord[]>
  startExecution(lease: LeaseToken, id: string): Awaitable<ExecutionRecord>
  settleExecution(
    lease: LeaseToken,
    id: string,
    settlement: EncodedSettlement,
  ): Awaitable<Settled<ExecutionRecord>>

  /** `key` is the call's content-addressed key (see callKey). */
  beginCall(lease: LeaseToken, init: CallInit, key: string): Awaitable<Created<CallRecord>>
  settleCall(
    lease: LeaseToken,
    executionId: string,
    key: string,
    settlement: EncodedSettlement,
  ): Awaitable<Settled<CallRecord>>
  listCalls(executionId: string): Awaitable<CallRecord[]>

  createPromise(lease: LeaseToken, init: HitlPromiseInit): Awaitable<Created<HitlPromiseRecord>>
  getPromise(id: string): Awaitable<HitlPromiseRecord | undefined>
  listPromises(filter: HitlPromiseFilter): Awaitable<HitlPromiseRecord[]>
  settlePromise(id: string, settlement: EncodedSettlement): Awaitable<Settled<HitlPromiseRecord>>

  putCheckpoint(lease: LeaseToken, init: CheckpointInit): Awaitable<Created<CheckpointRecord>>
  getCheckpoint(id: string): Awaitable<CheckpointRecord | undefined>
  latestCheckpoint(sessionKey: string): Awaitable<CheckpointRecord | undefined>
}

/** How {@link journalFromStore} reaches a backend's store. For implementations. */
export interface JournalStoreBinding {
  open(): Promise<JournalInfo>
  close(): Promise<void>
  /** Runs a read on the store (opening the journal first; failing once it is closed). */
  read<T>(operation: (store: JournalStore) => Awaitable<T>): Promise<T>
  /** Runs a write in one transaction on the store (opening the journal first; failing once it is closed). */
  write<T>(operation: (store: JournalStore) => Awaitable<T>): Promise<T>
  /**
   * Waits until the record read by `readRecord` is final (see JournalWaiters.wait); `key` is its waiter key,
   * `what` names it in errors.
   */
  wait<T extends { readonly state: JournalState }>(
    key: string,
    what: string,
    readRecord: () => Promise<T | undefined>,
    options: JournalWaitOptions,
  ): Promise<T>
  /**
   * Told the waiter key of each record this journal's writes made final, once the write committed — for a
   * backend whose store cannot wake its own waiters (others NOTIFY from the store, or emit from memory).
   */
  settled?(waitKey: string): void
}

/**
 * The {@link Journal} a backend exposes over its {@link JournalStore}: every argument checked (a bad one is
 * a rejected INVALID_ARGUMENT, before anything runs), settlements encoded, call keys computed, and waits
 * keyed alike in every backend. For implementations.
 */
export function journalFromStore(binding: JournalStoreBinding): Journal {
  const { read, write } = binding
  const wake =
    (waitKey: string) =>
    <R extends Settled<unknown>>(result: R): R => {
      if (result.settled) binding.settled?.(waitKey)
      return result
    }
  const lease = (token: LeaseToken) => journalInput.leaseToken(token)
  const listLimit = (value: number | undefined) =>
    value === undefined ? DEFAULT_LIST_LIMIT : journalInput.limit(value)
  const executionId = (id: string) => journalInput.key(id, 'execution id')
  const sessionKey = (key: string) => journalInput.key(key, 'session key')
  const promiseId = (id: string) => journalInput.key(id, 'promise id')

  // Runs synchronously up to the backend's first await, as a direct call would: operations keep their order.
  const run = <T>(operation: () => Promise<T>): Promise<T> => {
    try {
      return operation()
    } catch (error) {
      return Promise.reject(error)
    }
  }

  const journal: Journal = {
    open: () => run(() => binding.open()),
    close: () => run(() => binding.close()),

    ensureSession: (init) =>
      run(() => {
        const i = journalInput.sessionInit(init)
        return write((s) => s.ensureSession(i))
      }),
    getSession: (key) =>
      run(() => {
        const k = sessionKey(key)
        return read((s) => s.getSession(k))
      }),
    claimLease: (claim) =>
      run(() => {
        const c = journalInput.leaseClaim(claim)
        return write((s) => s.claimLease(c))
      }),
    renewLease: (token, ttlMs) =>
      run(() => {
        const [l, t] = [lease(token), journalInput.ttlMs(ttlMs)]
        return write((s) => s.renewLease(l, t))
      }),
    releaseLease: (token) =>
      run(() => {
        const l = lease(token)
        return write((s) => s.releaseLease(l))
      }),

    createExecution: (init) =>
      run(() => {
        const i = journalInput.executionInit(init)
        return write((s) => s.createExecution(i))
      }),
    getExecution: (id) =>
      run(() => {
        const k = executionId(id)
        return read((s) => s.getExecution(k))
      }),
    listExecutions: (key) =>
      run(() => {
        const k = sessionKey(key)
        return read((s) => s.listExecutions(k))
      }),
    listClaimable: (owner, options) =>
      run(() => {
        const [o, l] = [journalInput.key(owner, 'owner'), listLimit(options?.limit)]
        return read((s) => s.listClaimable(o, l))
      }),
    startExecution: (token, id) =>
      run(() => {
        const [l, k] = [lease(token), executionId(id)]
        return write((s) => s.startExecution(l, k))
      }),
    settleExecution: (token, id, settlement) =>
      run(() => {
        const [l, k, e] = [lease(token), executionId(id), encodeSettlement(settlement)]
        return write((s) => s.settleExecution(l, k, e)).then(wake(executionWaitKey(k)))
      }),

    beginCall: (token, init) =>
      run(() => {
        const [l, c] = [lease(token), journalInput.callInit(init)]
        const key = callKey(c.capability, c.argsHash, c.ordinal)
        return write((s) => s.beginCall(l, c, key))
      }),
    settleCall: (token, id, key, settlement) =>
      run(() => {
        const [l, e, k, o] = [
          lease(token),
          executionId(id),
          journalInput.key(key, 'call key'),
          encodeSettlement(settlement),
        ]
        return write((s) => s.settleCall(l, e, k, o))
      }),
    listCalls: (id) =>
      run(() => {
        const k = executionId(id)
        return read((s) => s.listCalls(k))
      }),

    createPromise: (token, init) =>
      run(() => {
        const [l, i] = [lease(token), journalInput.promiseInit(init)]
        return write((s) => s.createPromise(l, i))
      }),
    getPromise: (id) =>
      run(() => {
        const k = promiseId(id)
        return read((s) => s.getPromise(k))
      }),
    listPromises: (filter) =>
      run(() => {
        const f = journalInput.promiseFilter(filter)
        return read((s) => s.listPromises(f))
      }),
    settlePromise: (id, settlement) =>
      run(() => {
        const [k, e] = [promiseId(id), encodeSettlement(settlement)]
        return write((s) => s.settlePromise(k, e)).then(wake(promiseWaitKey(k)))
      }),

    waitExecution: (id, options) =>
      run(() => {
        const [k, o] = [executionId(id), journalInput.waitOptions(options)]
        return binding.wait(
          executionWaitKey(k),
          `execution ${JSON.stringify(k)}`,
          () => journal.getExecution(k),
          o,
        )
      }),
    waitPromise: (id, options) =>
      run(() => {
        const [k, o] = [promiseId(id), journalInput.waitOptions(options)]
        return binding.wait(promiseWaitKey(k), `promise ${JSON.stringify(k)}`, () => journal.getPromise(k), o)
      }),

    putCheckpoint: (token, init) =>
      run(() => {
        const [l, i] = [lease(token), journalInput.checkpointInit(init)]
        return write((s) => s.putCheckpoint(l, i))
      }),
    getCheckpoint: (id) =>
      run(() => {
        const k = journalInput.key(id, 'checkpoint id')
        return read((s) => s.getCheckpoint(k))
      }),
    latestCheckpoint: (key) =>
      run(() => {
        const k = sessionKey(key)
        return read((s) => s.latestCheckpoint(k))
      }),
  }
  return journal
}

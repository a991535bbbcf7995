import { CapsuleError } from '../errors.js'
import type { JournalWaitOptions } from './journal.js'
import type { JournalState } from './journalRecords.js'

interface Waiter {
  check(): void
  fail(error: unknown): void
}

/** Hooks a backend gives {@link JournalWaiters}: e.g. start a poll timer with the first waiter, stop it after the last. */
export interface JournalWaitersHooks {
  onFirst?(): void
  onEmpty?(): void
}

/**
 * The waits of one journal instance, by record key. A backend registers a wait with a reader of the
 * record, then calls {@link notify} when the record may have changed (an in-process settle, a PostgreSQL
 * NOTIFY, an SQLite poll tick); each notify reads again and resolves once the record is final. The wait is
 * registered before the first read, so a settle between the two is never missed. For journal
 * implementations.
 */
export class JournalWaiters {
  readonly #waiters = new Map<string, Set<Waiter>>()
  readonly #hooks: JournalWaitersHooks
  #count = 0

  constructor(hooks: JournalWaitersHooks = {}) {
    this.#hooks = hooks
  }

  /** How many waits are pending. */
  get size(): number {
    return this.#count
  }

  /** The keys that have pending waits. */
  keys(): string[] {
    return [...this.#waiters.keys()]
  }

  /**
   * Waits until `read()` returns a final record. Rejects with UNKNOWN_RECORD when it returns undefined,
   * TIMEOUT after `timeoutMs`, CANCELLED when `signal` aborts, or whatever `read` throws.
   */
  wait<T extends { readonly state: JournalState }>(
    key: string,
    what: string,
    read: () => Promise<T | undefined>,
    options: JournalWaitOptions = {},
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const { signal, timeoutMs } = options
      if (signal?.aborted) {
        reject(new CapsuleError('CANCELLED', `the wait for ${what} was aborted`, { cause: signal.reason }))
        return
      }
      let done = false
      let timer: NodeJS.Timeout | undefined
      const onAbort = () =>
        finish(() =>
          reject(
            new CapsuleError('CANCELLED', `the wait for ${what} was aborted`, { cause: signal?.reason }),
          ),
        )
      const finish = (settle: () => void) => {
        if (done) return
        done = true
        if (timer !== undefined) clearTimeout(timer)
        signal?.removeEventListener('abort', onAbort)
        this.#remove(key, waiter)
        settle()
      }
      const waiter: Waiter = {
        check: () => {
          read().then(
            (record) => {
              if (record === undefined) {
                finish(() => reject(new CapsuleError('UNKNOWN_RECORD', `the journal holds no ${what}`)))
              } else if (record.state !== 'pending') {
                finish(() => resolve(record))
              }
            },
            (error: unknown) => finish(() => reject(error)),
          )
        },
        fail: (error) => finish(() => reject(error)),
      }
      this.#add(key, waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
      if (timeoutMs !== undefined) {
        timer = setTimeout(
          () =>
            finish(() =>
              reject(
                new CapsuleError('TIMEOUT', `${what} was not settled within ${timeoutMs} ms`, {
                  details: { timeoutMs },
                }),
              ),
            ),
          timeoutMs,
        )
      }
      waiter.check()
    })
  }

  /** Reads again for every wait on `key`. */
  notify(key: string): void {
    const set = this.#waiters.get(key)
    if (set) for (const waiter of [...set]) waiter.check()
  }

  /** Reads again for every wait. */
  notifyAll(): void {
    for (const key of this.keys()) this.notify(key)
  }

  /** Rejects every pending wait with `error` (the journal closed, its connection was lost). */
  rejectAll(error: unknown): void {
    for (const set of [...this.#waiters.values()]) for (const waiter of [...set]) waiter.fail(error)
  }

  #add(key: string, waiter: Waiter): void {
    let set = this.#waiters.get(key)
    if (!set) {
      set = new Set()
      this.#waiters.set(key, set)
    }
    set.add(waiter)
    this.#count += 1
    if (this.#count === 1) this.#hooks.onFirst?.()
  }

  #remove(key: string, waiter: Waiter): void {
    const set = this.#waiters.get(key)
    if (!set?.delete(waiter)) return
    if (set.size === 0) this.#waiters.delete(key)
    this.#count -= 1
    if (this.#count === 0) this.#hooks.onEmpty?.()
  }
}

/** The waiter key of an execution. */
export const executionWaitKey = (id: string): string => `execution:${id}`
/** The waiter key of a HITL promise. */
export const promiseWaitKey = (id: string): string => `promise:${id}`

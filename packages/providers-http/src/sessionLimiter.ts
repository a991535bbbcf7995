import { CapabilityError } from '@capsule/provider-sdk'
import type { RequestAbort } from './requestAbort.js'

interface SessionSlots {
  active: number
  waiting: Array<() => void>
}

/**
 * Caps the requests each session has in flight. Over the cap a call waits in FIFO order for a free
 * slot (so `asyncio.gather` over many URLs just works), bounded by `maxQueued`: a call that would
 * make the queue longer fails at once with LIMIT_EXCEEDED. Waiting honours the call's signal, so a
 * cancelled or timed-out call leaves the queue.
 */
export class SessionLimiter {
  readonly #maxActive: number
  readonly #maxQueued: number
  readonly #sessions = new Map<string, SessionSlots>()

  constructor(maxActive: number, maxQueued: number) {
    this.#maxActive = maxActive
    this.#maxQueued = maxQueued
  }

  /**
   * Takes a free slot for `sessionId` at once, without waiting: its release function, or undefined when
   * the session is at its cap or others are already waiting (then {@link acquire}). Most requests find a
   * slot, and this spares them a promise and a turn of the microtask queue.
   */
  tryAcquire(sessionId: string): (() => void) | undefined {
    let entry = this.#sessions.get(sessionId)
    if (entry === undefined) {
      entry = { active: 0, waiting: [] }
      this.#sessions.set(sessionId, entry)
    }
    if (entry.active >= this.#maxActive || entry.waiting.length > 0) return undefined
    entry.active++
    return this.#releaser(sessionId, entry)
  }

  /**
   * Takes a slot for `sessionId`, waiting if needed. Resolves to a release function that must be
   * called exactly once; rejects with LIMIT_EXCEEDED when the queue is full, or with the abort's
   * reason when it is aborted while waiting.
   */
  async acquire(sessionId: string, abort: RequestAbort): Promise<() => void> {
    const now = this.tryAcquire(sessionId)
    if (now !== undefined) return now
    const entry = this.#sessions.get(sessionId)!
    if (entry.waiting.length >= this.#maxQueued) {
      throw new CapabilityError(
        'LIMIT_EXCEEDED',
        `too many concurrent requests in this session (at most ${this.#maxActive} at once, ${this.#maxQueued} waiting)`,
      )
    }
    abort.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const index = entry.waiting.indexOf(grant)
        if (index !== -1) entry.waiting.splice(index, 1)
        this.#forget(sessionId, entry)
        reject(abort.reason)
      }
      const grant = () => {
        abort.removeListener('abort', onAbort)
        resolve()
      }
      entry.waiting.push(grant)
      abort.once('abort', onAbort)
    })
    return this.#releaser(sessionId, entry)
  }

  /** Requests in flight for `sessionId` (for tests and diagnostics). */
  active(sessionId: string): number {
    return this.#sessions.get(sessionId)?.active ?? 0
  }

  #releaser(sessionId: string, entry: SessionSlots): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = entry.waiting.shift()
      // Hand the slot straight to the next waiter: `active` stays the same.
      if (next) return next()
      entry.active--
      this.#forget(sessionId, entry)
    }
  }

  #forget(sessionId: string, entry: SessionSlots): void {
    if (entry.active === 0 && entry.waiting.length === 0 && this.#sessions.get(sessionId) === entry) {
      this.#sessions.delete(sessionId)
    }
  }
}

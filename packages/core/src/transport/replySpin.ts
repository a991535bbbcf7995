import { performance } from 'node:perf_hooks'

/** How long the event loop keeps turning after a frame is sent before it may sleep, in ms. */
export const REPLY_SPIN_MS = 0.25
/** Below this the spin is dropped until a reply comes quickly again, in ms. */
export const MIN_REPLY_SPIN_MS = 0.01
/** Turns of one spin at most, whatever the clock says (a frozen clock must not spin for ever). */
export const MAX_SPIN_TURNS = 2000

/**
 * Keeps the event loop from sleeping for a moment after a frame is sent to the worker, so that its
 * reply (the result of a quick cell, the next call of a loop of sync calls) is read without the host's
 * CPU being woken from sleep first.
 *
 * On a machine whose idle CPUs sleep (a VM most of all), the worker's write to a host blocked in
 * `epoll_wait` costs it an inter-processor wake-up and the host a wake from halt: together several
 * times the host's own work for a call (bench/README.md). The spin blocks nothing: it is a chain of
 * `setImmediate` callbacks, so each turn still polls I/O (with no timeout) and runs timers and other
 * sessions' frames as usual. A reply slower than the window halves the window, down to none, and one
 * within {@link REPLY_SPIN_MS} of its frame restores it, so a worker that computes for long does not
 * keep the host busy: the worker's `AnswerSpin` does the same on its side.
 */
export class ReplySpin {
  readonly #now: () => number
  readonly #maxTurns: number
  #window = REPLY_SPIN_MS
  /** When the frame now awaiting its reply was sent (-1: none awaits one). */
  #sentAt = -1
  #deadline = 0
  #turns = 0
  #spinning = false
  #stopped = false

  /** `now` (ms) and `maxTurns` are for tests; the defaults are the real clock and {@link MAX_SPIN_TURNS}. */
  constructor(now: () => number = () => performance.now(), maxTurns = MAX_SPIN_TURNS) {
    this.#now = now
    this.#maxTurns = maxTurns
  }

  /** The current window in ms (0: not spinning until a quick reply). */
  get windowMs(): number {
    return this.#window
  }

  /** Whether a spin is running now. */
  get spinning(): boolean {
    return this.#spinning
  }

  /** A frame went out: spin until something comes back or the window passes. */
  sent(): void {
    if (this.#stopped) return
    const now = this.#now()
    if (this.#sentAt < 0) this.#sentAt = now
    if (this.#window === 0) return
    this.#deadline = now + this.#window
    this.#turns = 0
    if (!this.#spinning) {
      this.#spinning = true
      setImmediate(this.#turn)
    }
  }

  /** Bytes came from the worker: the spin has done its job. */
  received(): void {
    if (this.#sentAt >= 0) {
      if (this.#now() - this.#sentAt <= REPLY_SPIN_MS) this.#window = REPLY_SPIN_MS
      this.#sentAt = -1
    }
    this.#spinning = false
  }

  /** No more spins (the transport closed); a queued turn ends on its own. */
  stop(): void {
    this.#stopped = true
    this.#spinning = false
  }

  readonly #turn = (): void => {
    if (!this.#spinning) return
    this.#turns += 1
    if (this.#now() < this.#deadline && this.#turns < this.#maxTurns) {
      setImmediate(this.#turn)
      return
    }
    // Nothing came within the window: a slower reply is not worth as much spinning next time.
    this.#spinning = false
    this.#window = this.#window / 2 >= MIN_REPLY_SPIN_MS ? this.#window / 2 : 0
  }
}

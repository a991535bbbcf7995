/**
 * The bytes that pending capability calls hold across all sessions of one Capsule (their call frames'
 * sizes). A call that does not fit is refused at once, so a few hostile workers holding calls open cannot
 * grow host memory past the cap, whatever each session's own cap.
 */
export class PendingCallBudget {
  readonly maxBytes: number
  #usedBytes = 0

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes
  }

  /** Bytes held now. */
  get usedBytes(): number {
    return this.#usedBytes
  }

  /** Takes `bytes` from the budget; false (and nothing taken) when they do not fit. */
  tryReserve(bytes: number): boolean {
    if (this.#usedBytes + bytes > this.maxBytes) return false
    this.#usedBytes += bytes
    return true
  }

  /** Gives back what {@link tryReserve} took. */
  release(bytes: number): void {
    this.#usedBytes = Math.max(0, this.#usedBytes - bytes)
  }
}

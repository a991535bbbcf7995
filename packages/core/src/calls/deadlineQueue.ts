import type { Clock } from '../util/clock.js'

/** Something with a deadline: `expire()` runs once that epoch-ms time has passed, unless it left first. */
export interface Deadline {
  /** Epoch ms. */
  readonly deadline: number
  expire(): void
  /** Where it sits in its queue (-1: in none). Owned by the queue. */
  deadlineSlot: number
}

/**
 * Many deadlines behind one timer: a binary heap ordered by time, and a single clock timer armed for the
 * earliest. Adding a deadline later than the earliest (the usual case: every call of a session has the
 * same timeout) touches no timer at all, and a deadline that leaves early costs a heap removal, not a
 * clearTimeout.
 */
export class DeadlineQueue {
  readonly #clock: Clock
  readonly #heap: Deadline[] = []
  #timer: unknown
  // When the armed timer fires (Infinity: none armed).
  #armedFor = Number.POSITIVE_INFINITY

  constructor(clock: Clock) {
    this.#clock = clock
  }

  /** How many deadlines are waiting. */
  get size(): number {
    return this.#heap.length
  }

  add(entry: Deadline): void {
    const heap = this.#heap
    entry.deadlineSlot = heap.length
    heap.push(entry)
    this.#siftUp(entry.deadlineSlot)
    if (entry.deadline < this.#armedFor) this.#arm(entry.deadline)
  }

  /** Takes an entry out (it will not expire). Does nothing when it is in no queue. */
  remove(entry: Deadline): void {
    const slot = entry.deadlineSlot
    if (slot < 0) return
    entry.deadlineSlot = -1
    const heap = this.#heap
    const last = heap.pop()!
    if (slot < heap.length) {
      heap[slot] = last
      last.deadlineSlot = slot
      this.#siftDown(slot)
      this.#siftUp(last.deadlineSlot)
    }
    // The timer stays armed: when it fires early it finds nothing due and re-arms for the next one.
    if (heap.length === 0) this.#disarm()
  }

  readonly #fire = (): void => {
    this.#timer = undefined
    this.#armedFor = Number.POSITIVE_INFINITY
    const now = this.#clock.now()
    const heap = this.#heap
    while (heap.length > 0 && heap[0]!.deadline <= now) {
      const due = heap[0]!
      this.remove(due)
      due.expire()
    }
    if (heap.length > 0) this.#arm(heap[0]!.deadline)
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#armedFor = at
    this.#timer = this.#clock.setTimeout(this.#fire, Math.max(0, at - this.#clock.now()))
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#armedFor = Number.POSITIVE_INFINITY
  }

  #siftUp(slot: number): void {
    const heap = this.#heap
    const entry = heap[slot]!
    while (slot > 0) {
      const parentSlot = (slot - 1) >> 1
      const parent = heap[parentSlot]!
      if (parent.deadline <= entry.deadline) break
      heap[slot] = parent
      parent.deadlineSlot = slot
      slot = parentSlot
    }
    heap[slot] = entry
    entry.deadlineSlot = slot
  }

  #siftDown(slot: number): void {
    const heap = this.#heap
    const entry = heap[slot]!
    const length = heap.length
    for (;;) {
      const left = 2 * slot + 1
      if (left >= length) break
      const right = left + 1
      const child = right < length && heap[right]!.deadline < heap[left]!.deadline ? right : left
      const smaller = heap[child]!
      if (smaller.deadline >= entry.deadline) break
      heap[slot] = smaller
      smaller.deadlineSlot = slot
      slot = child
    }
    heap[slot] = entry
    entry.deadlineSlot = slot
  }
}

// Pending ─resolve→ Resolved | ─reject→ Rejected | ─deadline→ TimedOut | ─cancel→ Cancelled (final; record removed)
import { type Deadline, DeadlineQueue } from '../calls/deadlineQueue.js'
import { CapsuleError } from '../errors.js'
import type { Clock } from '../util/clock.js'

/** What a promise stands for: an execution, a capability call, or an `input()` waiting for its answer. */
export type PromiseKind = 'execution' | 'call' | 'input'

/** Where a promise is in its life; every promise reaches exactly one final state. */
export type PromiseState = 'pending' | 'resolved' | 'rejected' | 'timed_out' | 'cancelled'

/** The stored facts of one pending promise. */
export interface PromiseRecord {
  readonly id: string
  readonly kind: PromiseKind
  readonly sessionId: string
  readonly executionId: string | null
  /** The capability id, for calls. */
  readonly capability?: string
  readonly createdAt: number
  /** Epoch ms, or null for none. */
  readonly deadline: number | null
  state: PromiseState
}

/** What {@link PromiseStore.create} needs. */
export interface PromiseInit {
  id: string
  kind: PromiseKind
  sessionId: string
  executionId: string | null
  capability?: string
  deadline: number | null
  /**
   * Called at the deadline instead of settling: the owner decides (an execution is interrupted first).
   * Without it, the promise is rejected with TIMEOUT and ends `timed_out`.
   */
  onExpire?: () => void
}

/** The outcome a promise settles with. */
export type PromiseOutcome = { value: unknown } | { error: unknown }

/**
 * Holds every execution as a promise with an id, a deadline and a final state (capability calls in flight
 * are in the Capsule's call directory; `capsule.promises` lists both). Memory by default; embedders may
 * supply their own implementation.
 */
export interface PromiseStore {
  /** Registers a pending promise and returns what it settles with. */
  create(init: PromiseInit): Promise<unknown>
  /** Settles a pending promise. Returns false (and does nothing) when it is unknown or already final. */
  settle(id: string, state: Exclude<PromiseState, 'pending'>, outcome: PromiseOutcome): boolean
  /** The record of a pending promise. */
  get(id: string): PromiseRecord | undefined
  /** Every pending promise, optionally of one session and of one kind. */
  list(filter?: { sessionId?: string; kind?: PromiseKind }): PromiseRecord[]
  /** How many promises are pending. */
  readonly size: number
}

interface Entry extends Deadline {
  record: PromiseRecord
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/**
 * The default, in-memory {@link PromiseStore}. Final promises are dropped at once: nothing leaks. Their
 * deadlines share one timer.
 */
export class MemoryPromiseStore implements PromiseStore {
  readonly #entries = new Map<string, Entry>()
  readonly #clock: Clock
  readonly #deadlines: DeadlineQueue

  constructor(clock: Clock) {
    this.#clock = clock
    this.#deadlines = new DeadlineQueue(clock)
  }

  get size(): number {
    return this.#entries.size
  }

  create(init: PromiseInit): Promise<unknown> {
    if (this.#entries.has(init.id)) {
      throw new CapsuleError('INVALID_ARGUMENT', `promise ${init.id} already exists`)
    }
    return new Promise((resolve, reject) => {
      const record: PromiseRecord = {
        id: init.id,
        kind: init.kind,
        sessionId: init.sessionId,
        executionId: init.executionId,
        capability: init.capability,
        createdAt: this.#clock.now(),
        deadline: init.deadline,
        state: 'pending',
      }
      const entry: Entry = {
        record,
        resolve,
        reject,
        deadline: init.deadline ?? Number.POSITIVE_INFINITY,
        deadlineSlot: -1,
        expire: () => {
          if (init.onExpire) init.onExpire()
          else
            this.settle(init.id, 'timed_out', {
              error: new CapsuleError('TIMEOUT', `${init.kind} ${init.id} timed out`, {
                details: { deadline: init.deadline },
              }),
            })
        },
      }
      this.#entries.set(init.id, entry)
      if (init.deadline !== null) this.#deadlines.add(entry)
    })
  }

  settle(id: string, state: Exclude<PromiseState, 'pending'>, outcome: PromiseOutcome): boolean {
    const entry = this.#entries.get(id)
    if (!entry) return false
    this.#entries.delete(id)
    this.#deadlines.remove(entry)
    entry.record.state = state
    if ('value' in outcome) entry.resolve(outcome.value)
    else entry.reject(outcome.error)
    return true
  }

  get(id: string): PromiseRecord | undefined {
    return this.#entries.get(id)?.record
  }

  list(filter: { sessionId?: string; kind?: PromiseKind } = {}): PromiseRecord[] {
    return [...this.#entries.values()]
      .map((entry) => entry.record)
      .filter(
        (r) =>
          (filter.sessionId === undefined || r.sessionId === filter.sessionId) &&
          (filter.kind === undefined || r.kind === filter.kind),
      )
  }
}

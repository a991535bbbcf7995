// Held ─renew fails LEASE_LOST→ Lost (final) ;  Held ─release()→ Released (final)
import { CapsuleError, isCapsuleError } from '../errors.js'
import type { Journal } from '../journal/journal.js'
import type { Lease, LeaseToken } from '../journal/journalRecords.js'
import type { Clock } from '../util/clock.js'

/** What a {@link LeaseKeeper} needs. */
export interface LeaseKeeperDeps {
  journal: Journal
  clock: Clock
  ttlMs: number
  /** Called once when the lease is lost (another host claimed the session): the session must stop. */
  onLost(error: CapsuleError): void
}

/**
 * Holds a durable session's lease: renews it at a third of its time to live, and reports its loss once.
 * Every journal write of the session carries {@link LeaseKeeper.token}; after a takeover the journal
 * refuses those writes (LEASE_LOST) whatever this host believes, so a paused host can never write again.
 */
export class LeaseKeeper {
  readonly #deps: LeaseKeeperDeps
  #lease: Lease
  #timer: unknown
  #state: 'held' | 'lost' | 'released' = 'held'

  constructor(deps: LeaseKeeperDeps, lease: Lease) {
    this.#deps = deps
    this.#lease = lease
    this.#schedule()
  }

  /** What every write of the session carries. */
  get token(): LeaseToken {
    const { sessionKey, owner, epoch } = this.#lease
    return { sessionKey, owner, epoch }
  }

  /** The lease as last claimed or renewed. */
  get lease(): Lease {
    return this.#lease
  }

  get held(): boolean {
    return this.#state === 'held'
  }

  /** Gives the lease up, so another host may claim the session at once. Idempotent. */
  async release(): Promise<void> {
    if (this.#state !== 'held') return
    this.#state = 'released'
    this.#deps.clock.clearTimeout(this.#timer)
    await this.#deps.journal.releaseLease(this.token).catch(() => undefined)
  }

  #schedule(): void {
    const every = Math.max(10, Math.floor(this.#deps.ttlMs / 3))
    this.#timer = this.#deps.clock.setTimeout(() => void this.#renew(), every)
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  async #renew(): Promise<void> {
    if (this.#state !== 'held') return
    try {
      this.#lease = await this.#deps.journal.renewLease(this.token, this.#deps.ttlMs)
    } catch (error) {
      if (this.#state !== 'held') return
      if (isCapsuleError(error, 'LEASE_LOST')) {
        this.#state = 'lost'
        this.#deps.onLost(error)
        return
      }
      // The journal could not be reached: keep trying; writes fail closed meanwhile, and the lease lapses
      // on its own if this lasts (then the next renew reports LEASE_LOST).
    }
    if (this.#state === 'held') this.#schedule()
  }
}

/** The error a session gets when its lease is gone. */
export function leaseLost(sessionKey: string, cause?: unknown): CapsuleError {
  return new CapsuleError(
    'LEASE_LOST',
    `another host took durable session ${JSON.stringify(sessionKey)} over`,
    {
      cause,
      details: { sessionKey },
    },
  )
}

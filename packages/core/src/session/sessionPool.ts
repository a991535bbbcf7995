// Breaker: Closed ─N start failures→ Open ─backoff elapsed→ HalfOpen ─start ok→ Closed | ─fails→ Open (longer)
import { CapsuleError } from '../errors.js'
import type { Clock } from '../util/clock.js'

/** Sizing of the session pool. */
export interface PoolOptions {
  /** Warm sessions kept ready in the background (default 0: none until asked). */
  min: number
  /** Most sessions open at once, warm and in use together; further requests wait in order (default 32). */
  max: number
  /**
   * After this long without a session request the warm sessions are closed and none are started until
   * the next request, so an idle host holds no workers (default 5 min; 0 = keep them forever).
   */
  idleTimeoutMs: number
  /** Executions one worker may run before its session refuses more (LIMIT_EXCEEDED); 0 = no cap. */
  maxExecutionsPerWorker: number
  /**
   * A checkpoint every warm session is restored from before it is handed out: the checkpoint, its sealed
   * bytes, or its id in the journal. The pool itself only carries it; the Capsule's factory restores.
   */
  warmFrom?: Uint8Array | string | { bytes: Uint8Array }
}

/** The defaults of {@link PoolOptions}. */
export const DEFAULT_POOL_OPTIONS: Readonly<PoolOptions> = Object.freeze({
  min: 0,
  max: 32,
  idleTimeoutMs: 5 * 60_000,
  maxExecutionsPerWorker: 0,
})

/** Consecutive start failures that open the circuit breaker. */
export const BREAKER_THRESHOLD = 3
/** First and longest breaker backoff. */
export const BREAKER_BASE_BACKOFF_MS = 250
export const BREAKER_MAX_BACKOFF_MS = 30_000

/** What the pool needs of a session. */
export interface PoolMember {
  readonly id: string
  close(): Promise<void>
  destroy(error?: CapsuleError): void
}

/** Pool figures for `capsule.info()`. */
export interface PoolMetrics {
  warm: number
  /** True while idle: no warm sessions are kept until the next request. */
  dormant: boolean
  starting: number
  inUse: number
  waiting: number
  created: number
  startFailures: number
  breaker: { state: 'closed' | 'open' | 'half-open'; consecutiveFailures: number; retryAt: number | null }
}

interface Waiter<S> {
  create: (() => Promise<S>) | undefined
  resolve: (session: S) => void
  reject: (error: unknown) => void
}

/**
 * Chooses, creates, queues and drains sessions; nothing else. Warm sessions are started in the
 * background whenever something changes (no polling); a session handed out is never handed out again —
 * closing it frees its slot and a fresh worker takes its place. The factory is injected, so tests can
 * pool fakes.
 */
export class SessionPool<S extends PoolMember> {
  readonly #create: () => Promise<S>
  readonly #options: PoolOptions
  readonly #clock: Clock
  readonly #warm: S[] = []
  readonly #inUse = new Set<S>()
  readonly #waiters: Waiter<S>[] = []
  #idleTimer: unknown
  #dormant = false
  #starting = 0
  #created = 0
  #startFailures = 0
  #consecutiveFailures = 0
  #lastFailure: unknown
  #breaker: 'closed' | 'open' | 'half-open' = 'closed'
  #retryAt: number | null = null
  #retryTimer: unknown
  #closed = false
  /** Set when the pool's own factory can never succeed: why pooled requests fail. */
  #stopped: unknown

  constructor(create: () => Promise<S>, options: PoolOptions, clock: Clock) {
    this.#create = create
    this.#options = options
    this.#clock = clock
    this.#touch()
    this.#replenish()
  }

  /**
   * A session: a warm one when ready, else a new one from `create` (default: the pool's factory). At
   * `max` the request waits in order. While the breaker is open, fails at once with the last start error.
   */
  acquire(create?: () => Promise<S>): Promise<S> {
    if (this.#closed) return Promise.reject(new CapsuleError('CAPSULE_CLOSED', 'the Capsule is closed'))
    if (!create && this.#stopped !== undefined) return Promise.reject(this.#stopped)
    if (this.#breaker === 'open') return Promise.reject(this.#breakerError())
    this.#touch()
    if (!create) {
      const warm = this.#warm.shift()
      if (warm) {
        this.#inUse.add(warm)
        // After the caller has its session: spawning the replacement blocks the event loop for a few ms.
        setImmediate(() => this.#replenish())
        return Promise.resolve(warm)
      }
    }
    return new Promise<S>((resolve, reject) => {
      this.#waiters.push({ create, resolve, reject })
      this.#serveWaiters()
    })
  }

  /** A session handed out has closed: its slot is free. */
  release(session: S): void {
    if (this.#inUse.delete(session) || this.#removeWarm(session)) {
      this.#serveWaiters()
      this.#replenish()
    }
  }

  /** A warm session's worker died before anyone used it: drop it and start another. */
  discard(session: S): void {
    if (this.#removeWarm(session)) {
      session.destroy()
      this.#replenish()
    }
  }

  /**
   * The pool's factory can never succeed (its configuration is wrong, e.g. a refused `warmFrom`): no more
   * background starts, no retries, and requests for a pooled session fail at once with `error`. Requests
   * that bring their own factory are still served. The first error stays.
   */
  stopWarming(error: unknown): void {
    if (this.#stopped !== undefined) return
    this.#stopped = error
    if (this.#retryTimer !== undefined) this.#clock.clearTimeout(this.#retryTimer)
    this.#retryTimer = undefined
    this.#retryAt = null
    for (const waiter of this.#waiters.filter((w) => !w.create)) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
      waiter.reject(error)
    }
    for (const session of this.#warm.splice(0)) session.close().catch(() => undefined)
  }

  /** Figures for dashboards. */
  metrics(): PoolMetrics {
    return {
      warm: this.#warm.length,
      dormant: this.#dormant,
      starting: this.#starting,
      inUse: this.#inUse.size,
      waiting: this.#waiters.length,
      created: this.#created,
      startFailures: this.#startFailures,
      breaker: {
        state: this.#breaker,
        consecutiveFailures: this.#consecutiveFailures,
        retryAt: this.#retryAt,
      },
    }
  }

  /** Stops creating, rejects waiters, and closes the warm sessions (sessions in use are the owner's). */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#retryTimer !== undefined) this.#clock.clearTimeout(this.#retryTimer)
    if (this.#idleTimer !== undefined) this.#clock.clearTimeout(this.#idleTimer)
    for (const waiter of this.#waiters.splice(0))
      waiter.reject(new CapsuleError('CAPSULE_CLOSED', 'the Capsule is closed'))
    await Promise.all(this.#warm.splice(0).map((session) => session.close()))
  }

  get #total(): number {
    return this.#warm.length + this.#starting + this.#inUse.size
  }

  // Serves waiters in order while there is room: each takes a slot and a session made for it.
  #serveWaiters(): void {
    while (this.#waiters.length > 0 && !this.#closed) {
      const waiter = this.#waiters[0]!
      if (!waiter.create && this.#stopped !== undefined) {
        this.#waiters.shift()
        waiter.reject(this.#stopped)
        continue
      }
      if (!waiter.create && this.#warm.length > 0) {
        this.#waiters.shift()
        const warm = this.#warm.shift()!
        this.#inUse.add(warm)
        waiter.resolve(warm)
        continue
      }
      if (this.#total >= this.#options.max) {
        // A warm session nobody has asked for yields its slot to a request that needs a worker of its own.
        const idle = waiter.create ? this.#warm.shift() : undefined
        if (!idle) return
        idle.close().catch(() => undefined)
      }
      this.#waiters.shift()
      this.#start(waiter.create ?? this.#create).then(
        (session) => {
          this.#inUse.add(session)
          waiter.resolve(session)
        },
        (error) => {
          waiter.reject(error)
          this.#serveWaiters()
        },
      )
    }
  }

  // Keeps `min` warm sessions, as far as `max` and the breaker allow.
  #replenish(): void {
    if (this.#closed || this.#stopped !== undefined || this.#dormant) return
    if (this.#breaker === 'open' || this.#retryTimer !== undefined) return
    while (this.#warm.length + this.#starting < this.#options.min && this.#total < this.#options.max) {
      if (this.#breaker === 'half-open' && this.#starting > 0) return
      this.#start(this.#create).then(
        (session) => this.#addWarm(session),
        () => undefined,
      )
    }
  }

  #addWarm(session: S): void {
    if (this.#closed || this.#stopped !== undefined) {
      session.close().catch(() => undefined)
      return
    }
    const waiter = this.#waiters.findIndex((w) => !w.create)
    if (waiter >= 0) {
      const [taken] = this.#waiters.splice(waiter, 1)
      this.#inUse.add(session)
      taken!.resolve(session)
      return
    }
    if (this.#dormant) {
      session.close().catch(() => undefined)
      return
    }
    this.#warm.push(session)
  }

  // A session request: wake a dormant pool and restart the idle countdown.
  #touch(): void {
    if (this.#options.idleTimeoutMs <= 0) return
    if (this.#idleTimer !== undefined) this.#clock.clearTimeout(this.#idleTimer)
    this.#idleTimer = this.#clock.setTimeout(() => {
      this.#idleTimer = undefined
      this.#dormant = true
      for (const session of this.#warm.splice(0)) session.close().catch(() => undefined)
    }, this.#options.idleTimeoutMs)
    if (this.#dormant) {
      this.#dormant = false
      this.#replenish()
    }
  }

  async #start(create: () => Promise<S>): Promise<S> {
    this.#starting += 1
    try {
      const session = await create()
      this.#created += 1
      this.#consecutiveFailures = 0
      this.#breaker = 'closed'
      this.#retryAt = null
      return session
    } catch (error) {
      this.#startFailures += 1
      // The reason the pool stopped warming is its configuration's fault, not the workers': no backoff.
      if (error === this.#stopped) throw error
      this.#consecutiveFailures += 1
      this.#lastFailure = error
      if (this.#consecutiveFailures >= BREAKER_THRESHOLD || this.#breaker === 'half-open') this.#openBreaker()
      else this.#scheduleRetry(BREAKER_BASE_BACKOFF_MS * 2 ** (this.#consecutiveFailures - 1))
      throw error
    } finally {
      this.#starting -= 1
    }
  }

  #openBreaker(): void {
    const exponent = this.#consecutiveFailures - 1
    const backoff = Math.min(BREAKER_MAX_BACKOFF_MS, BREAKER_BASE_BACKOFF_MS * 2 ** exponent)
    this.#breaker = 'open'
    for (const waiter of this.#waiters.splice(0)) waiter.reject(this.#breakerError())
    this.#scheduleRetry(backoff, () => {
      this.#breaker = 'half-open'
    })
  }

  // Background starts after a failure wait for the backoff, so a broken configuration cannot spin.
  #scheduleRetry(backoffMs: number, before?: () => void): void {
    if (this.#retryTimer !== undefined) this.#clock.clearTimeout(this.#retryTimer)
    this.#retryAt = this.#clock.now() + backoffMs
    this.#retryTimer = this.#clock.setTimeout(() => {
      this.#retryTimer = undefined
      before?.()
      this.#replenish()
    }, backoffMs)
  }

  #breakerError(): CapsuleError {
    const last = this.#lastFailure
    const reason = last instanceof Error ? last.message : String(last)
    const seconds = this.#retryAt === null ? 0 : Math.max(0, (this.#retryAt - this.#clock.now()) / 1000)
    return new CapsuleError(
      last instanceof CapsuleError ? last.code : 'WORKER_START_FAILED',
      `workers keep failing to start (${this.#consecutiveFailures} in a row); next attempt in ${seconds.toFixed(1)} s. Last error: ${reason}`,
      { cause: last, details: { breaker: 'open', retryAt: this.#retryAt } },
    )
  }

  #removeWarm(session: S): boolean {
    const index = this.#warm.indexOf(session)
    if (index < 0) return false
    this.#warm.splice(index, 1)
    return true
  }
}

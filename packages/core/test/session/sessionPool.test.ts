import { describe, expect, test } from 'vitest'
import { CapsuleError } from '../../src/errors.js'
import { BREAKER_THRESHOLD, SessionPool } from '../../src/session/sessionPool.js'
import type { Clock } from '../../src/util/clock.js'

class FakeSession {
  static seq = 0
  readonly id = `fake-${++FakeSession.seq}`
  closed = false
  onClose: ((s: FakeSession) => void) | undefined
  async close(): Promise<void> {
    this.closed = true
    this.onClose?.(this)
  }
  destroy(): void {
    this.closed = true
  }
}

/** A clock the test advances by hand. */
function manualClock(): Clock & { advance(ms: number): void } {
  let now = 0
  let timers: Array<{ at: number; fn: () => void; id: number }> = []
  let ids = 0
  return {
    now: () => now,
    setTimeout(fn, ms) {
      ids += 1
      timers.push({ at: now + ms, fn, id: ids })
      return ids
    },
    clearTimeout(id) {
      timers = timers.filter((t) => t.id !== id)
    },
    advance(ms) {
      now += ms
      const due = timers.filter((t) => t.at <= now)
      timers = timers.filter((t) => t.at > now)
      for (const t of due) t.fn()
    },
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

function makePool(
  options: Partial<{ min: number; max: number; idleTimeoutMs: number }> = {},
  factory?: () => Promise<FakeSession>,
) {
  const clock = manualClock()
  const created: FakeSession[] = []
  const pool: SessionPool<FakeSession> = new SessionPool(
    factory ??
      (async () => {
        const session = new FakeSession()
        session.onClose = (s) => pool.release(s)
        created.push(session)
        return session
      }),
    { min: 0, max: 4, idleTimeoutMs: 1000, maxExecutionsPerWorker: 0, ...options },
    clock,
  )
  return { pool, clock, created }
}

describe('SessionPool', () => {
  test('keeps min warm sessions started in the background and hands them out first', async () => {
    const { pool, created } = makePool({ min: 2 })
    await tick()
    expect(pool.metrics().warm).toBe(2)
    const session = await pool.acquire()
    expect(created).toContain(session)
    await tick()
    // Taking one starts a replacement at once.
    expect(pool.metrics()).toMatchObject({ warm: 2, inUse: 1 })
  })

  test('a returned session is never handed out again: its slot goes to a fresh one', async () => {
    const { pool } = makePool({ min: 1, max: 1 })
    await tick()
    const first = await pool.acquire()
    await first.close()
    await tick()
    const second = await pool.acquire()
    expect(second).not.toBe(first)
    expect(first.closed).toBe(true)
  })

  test('at max, requests wait in a fair queue and are served in order as slots free', async () => {
    const { pool } = makePool({ max: 2 })
    const a = await pool.acquire()
    const b = await pool.acquire()
    const order: string[] = []
    const c = pool.acquire().then((s) => order.push('c') && s)
    const d = pool.acquire().then((s) => order.push('d') && s)
    await tick()
    expect(pool.metrics().waiting).toBe(2)
    await b.close()
    await tick()
    await a.close()
    await Promise.all([c, d])
    expect(order).toEqual(['c', 'd'])
  })

  test('a custom factory (a narrowed session) takes a slot and waits like the others', async () => {
    const { pool } = makePool({ max: 1 })
    const held = await pool.acquire()
    let made = false
    const custom = pool.acquire(async () => {
      made = true
      return new FakeSession()
    })
    await tick()
    expect(made).toBe(false)
    await held.close()
    await custom
    expect(made).toBe(true)
  })

  test('opens the breaker after repeated start failures, fails fast while open, and retries after the backoff', async () => {
    let failing = true
    let attempts = 0
    const { pool, clock } = makePool({ min: 1, idleTimeoutMs: 0 }, async () => {
      attempts += 1
      if (failing) throw new CapsuleError('PYTHON_NOT_FOUND', 'no python')
      return new FakeSession()
    })
    for (let i = 0; i < BREAKER_THRESHOLD; i += 1) {
      await pool.acquire().catch(() => undefined)
      await tick()
    }
    expect(pool.metrics().breaker.state).toBe('open')
    const before = attempts
    await expect(pool.acquire()).rejects.toMatchObject({
      code: 'PYTHON_NOT_FOUND',
      message: expect.stringContaining('keep failing'),
    })
    expect(attempts).toBe(before)
    failing = false
    clock.advance(60_000)
    await tick()
    await tick()
    expect(pool.metrics().breaker.state).toBe('closed')
    expect(pool.metrics().warm).toBe(1)
  })

  test('after idleTimeoutMs without a request the warm sessions close, and the next request wakes the pool', async () => {
    const { pool, clock, created } = makePool({ min: 2, max: 4, idleTimeoutMs: 500 })
    await tick()
    expect(pool.metrics().warm).toBe(2)
    clock.advance(600)
    expect(pool.metrics()).toMatchObject({ warm: 0, dormant: true })
    expect(created.every((s) => s.closed)).toBe(true)
    const session = await pool.acquire()
    await tick()
    expect(created).toContain(session)
    expect(pool.metrics()).toMatchObject({ warm: 2, dormant: false, inUse: 1 })
  })

  test('close() rejects waiters and closes warm sessions', async () => {
    const { pool, created } = makePool({ min: 1, max: 1 })
    await tick()
    const held = await pool.acquire()
    const waiting = pool.acquire()
    await tick()
    await pool.close()
    await expect(waiting).rejects.toMatchObject({ code: 'CAPSULE_CLOSED' })
    expect(created.filter((s) => s !== held).every((s) => s.closed)).toBe(true)
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'CAPSULE_CLOSED' })
  })
})

import { describe, expect, test } from 'vitest'
import { CapsuleError } from '../../src/errors.js'
import { SessionPool } from '../../src/session/sessionPool.js'
import { systemClock } from '../../src/util/clock.js'

class FakeSession {
  static seq = 0
  readonly id = `fake-${++FakeSession.seq}`
  closed = false
  release: ((s: FakeSession) => void) | undefined
  async close(): Promise<void> {
    this.closed = true
    this.release?.(this)
  }
  destroy(): void {
    this.closed = true
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve))

function makePool(min: number, max: number, create?: () => Promise<FakeSession>) {
  let starts = 0
  const pool: SessionPool<FakeSession> = new SessionPool(
    async () => {
      starts += 1
      const session = create ? await create() : new FakeSession()
      session.release = (s) => pool.release(s)
      return session
    },
    { min, max, idleTimeoutMs: 0, maxExecutionsPerWorker: 0 },
    systemClock,
  )
  const own = async () => {
    const session = new FakeSession()
    session.release = (s) => pool.release(s)
    return session
  }
  return { pool, own, starts: () => starts }
}

describe('SessionPool warming', () => {
  test('at max, a warm session gives its slot to a request that brings its own factory', async () => {
    const { pool, own } = makePool(1, 1)
    await tick()
    expect(pool.metrics().warm).toBe(1)
    const session = await pool.acquire(own)
    expect(pool.metrics()).toMatchObject({ warm: 0, inUse: 1 })
    await session.close()
    await tick()
    expect(pool.metrics()).toMatchObject({ warm: 1, inUse: 0 })
  })

  test('stopWarming: pooled requests fail with the error, nothing more is started, own factories still work', async () => {
    const refused = new CapsuleError('CHECKPOINT_INVALID', 'refused')
    let stop!: () => void
    const { pool, own, starts } = makePool(2, 4, async () => {
      await Promise.resolve()
      stop()
      throw refused
    })
    stop = () => pool.stopWarming(refused)
    await tick()
    const startsAfterRefusal = starts()
    expect(startsAfterRefusal).toBeGreaterThan(0)
    await expect(pool.acquire()).rejects.toBe(refused)
    await new Promise((resolve) => setTimeout(resolve, 400))
    expect(starts()).toBe(startsAfterRefusal)
    expect(pool.metrics()).toMatchObject({
      warm: 0,
      starting: 0,
      breaker: { state: 'closed', retryAt: null },
    })
    const session = await pool.acquire(own)
    expect(pool.metrics().inUse).toBe(1)
    await session.close()
    await pool.close()
  })
})

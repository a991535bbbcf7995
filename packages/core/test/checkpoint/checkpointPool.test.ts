import { randomBytes } from 'node:crypto'
import { afterEach, beforeAll, describe, expect, test, vi } from 'vitest'
import {
  Capsule,
  type CapsuleOptions,
  type Checkpoint,
  isCapsuleError,
  memoryJournal,
} from '../../src/index.js'
import { testProvider } from '../fixtures.js'
import { defaultPython } from '../pythons.js'

const key = randomBytes(32)
const capsules: Capsule[] = []
function capsule(options: CapsuleOptions = {}): Capsule {
  const made = new Capsule({
    python: defaultPython.python,
    sandbox: 'none',
    providers: [testProvider()],
    checkpointKey: key,
    ...options,
  })
  capsules.push(made)
  return made
}
afterEach(async () => {
  await Promise.all(capsules.splice(0).map((c) => c.close()))
})

const text = async (session: Awaited<ReturnType<Capsule['session']>>, code: string) =>
  (await session.run(code)).value?.['text/plain']

async function warmed(made: Capsule, count = 1): Promise<void> {
  await vi.waitFor(() => expect(made.info().pool.warm).toBe(count), { timeout: 20_000, interval: 20 })
}

async function refusal(promise: Promise<unknown>): Promise<{ code: string; details: unknown }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!isCapsuleError(error)) throw new Error(`expected a CapsuleError, got ${String(error)}`)
  return { code: error.code, details: error.details }
}

let plain: Checkpoint
beforeAll(async () => {
  const source = await capsule().session()
  await source.run('rows = [1, 2, 3]\ndef total():\n    return sum(rows)\nechoer = echo')
  plain = await source.checkpoint()
  await Promise.all(capsules.splice(0).map((c) => c.close()))
}, 30_000)

describe('capsule.session({ restore }) and the pool', () => {
  test('takes the warm pooled worker and restores into it instead of starting one', async () => {
    // max 1: the warm session holds the only slot, so a restore that started a worker of its own would wait.
    const pooled = capsule({ pool: { min: 1, max: 1 } })
    await warmed(pooled)
    const session = await pooled.session({ restore: plain.bytes })
    expect(pooled.info().pool).toMatchObject({ warm: 0, inUse: 1, created: 1 })
    expect(session.lastRestore?.restored).toEqual(expect.arrayContaining(['rows', 'echoer']))
    expect(await text(session, 'total(), echoer("hi")')).toBe("(6, 'hi')")
  })

  test('starts a fresh worker with the checkpoint’s hash seed when the pool’s workers have another', async () => {
    const journal = memoryJournal()
    const durable = await capsule({ journal }).session({ key: 'seeded' })
    await durable.run('kept = "yes"')
    const seeded = await durable.checkpoint()
    expect(seeded.header.hashSeed).toMatch(/^\d+$/)
    const pooled = capsule({ pool: { min: 1, max: 2 } })
    await warmed(pooled)
    const session = await pooled.session({ restore: seeded.bytes })
    expect(pooled.info().pool.warm).toBe(1)
    expect(await text(session, 'import os\nos.environ["PYTHONHASHSEED"], kept')).toBe(
      `('${seeded.header.hashSeed}', 'yes')`,
    )
  })

  test('starts a fresh worker when the request has options of its own', async () => {
    const pooled = capsule({ pool: { min: 1, max: 2 } })
    await warmed(pooled)
    const session = await pooled.session({ restore: plain.bytes, deny: ['test.echo'] })
    expect(pooled.info().pool.warm).toBe(1)
    expect(session.lastRestore?.missingCapabilities).toEqual(['test.echo'])
    expect(await text(session, 'total()')).toBe('6')
  })

  test('refuses a tampered checkpoint before taking a worker', async () => {
    const pooled = capsule({ pool: { min: 1, max: 2 } })
    await warmed(pooled)
    const tampered = Uint8Array.from(plain.bytes)
    tampered[tampered.length - 40]! ^= 1
    expect(await refusal(pooled.session({ restore: tampered }))).toMatchObject({
      code: 'CHECKPOINT_INVALID',
      details: { reason: 'signature' },
    })
    expect(pooled.info().pool).toMatchObject({ warm: 1, inUse: 0 })
  })
})

describe('pool.warmFrom', () => {
  test('hands out sessions already restored from the checkpoint, each with its own namespace', async () => {
    const warm = capsule({ pool: { min: 2, warmFrom: plain } })
    await warmed(warm, 2)
    const first = await warm.session()
    const second = await warm.session()
    expect(first.lastRestore?.restored).toEqual(expect.arrayContaining(['rows', 'echoer']))
    expect(first.lastRestore?.redefined).toContain('total')
    expect(await text(first, 'rows.append(4)\ntotal()')).toBe('10')
    expect(await text(second, 'total(), echoer("x")')).toBe("(6, 'x')")
    expect(await text(second, 'import capsule\ncapsule.last_restore()["restored"] is not None')).toBe('True')
  })

  test('serves a restore of that same checkpoint from the warm sessions, and any other from a fresh worker', async () => {
    const warm = capsule({ pool: { min: 1, max: 3, warmFrom: plain.bytes } })
    await warmed(warm)
    const same = await warm.session({ restore: plain })
    expect(warm.info().pool).toMatchObject({ warm: 0, created: 1 })
    expect(await text(same, 'rows = [9]\ntotal()')).toBe('9')
    const other = await same.checkpoint()
    await warmed(warm)
    const fresh = await warm.session({ restore: other.bytes })
    expect(warm.info().pool.warm).toBe(1)
    // total came from the warm session's own restore: a checkpoint of that session carries it again.
    expect(fresh.lastRestore?.lost).toEqual([])
    expect(await text(fresh, 'rows, total()')).toBe('([9], 9)')
  })

  test('restores from a checkpoint id in the journal', async () => {
    const journal = memoryJournal()
    const source = await capsule({ journal, hostId: 'a' }).session({ key: 'report' })
    await source.run('totals = {"q1": 10}')
    const { id } = await source.checkpoint()
    const warm = capsule({ journal, hostId: 'b', pool: { min: 1, warmFrom: id! } })
    const session = await warm.session()
    expect(session.lastRestore?.restored).toContain('totals')
    expect(await text(session, 'totals["q1"]')).toBe('10')
  })

  test('applies the restoring Capsule’s policy: a capability it does not grant is missing', async () => {
    const warm = capsule({ deny: ['test.echo'], pool: { min: 1, warmFrom: plain } })
    const session = await warm.session()
    expect(session.lastRestore?.missingCapabilities).toEqual(['test.echo'])
    expect(session.lastRestore?.lost.map((item) => item.name)).toContain('echoer')
    expect((await session.run('echoer')).error?.ename).toBe('NameError')
    expect(await text(session, 'total()')).toBe('6')
  })

  test('a tampered warmFrom fails the Capsule’s creation with CHECKPOINT_INVALID', () => {
    const tampered = Uint8Array.from(plain.bytes)
    tampered[20]! ^= 1
    let thrown: unknown
    try {
      capsule({ pool: { min: 1, warmFrom: tampered } })
    } catch (error) {
      thrown = error
    }
    expect(isCapsuleError(thrown) && thrown.code).toBe('CHECKPOINT_INVALID')
    expect(capsules).toHaveLength(0)
  })

  test('a warmFrom id signed with another key is refused once: no worker starts and the pool does not retry', async () => {
    const journal = memoryJournal()
    const source = await capsule({ journal, hostId: 'a', checkpointKey: randomBytes(32) }).session({
      key: 'k',
    })
    await source.run('x = 1')
    const { id } = await source.checkpoint()
    const warm = capsule({ journal, hostId: 'b', pool: { min: 2, warmFrom: id! } })
    expect(await refusal(warm.session())).toMatchObject({
      code: 'CHECKPOINT_INVALID',
      details: { reason: 'signature' },
    })
    const failures = warm.info().pool.startFailures
    // Longer than the first backoff (250 ms): a pool that retried would have tried again by now.
    await new Promise((resolve) => setTimeout(resolve, 700))
    expect(await refusal(warm.session())).toMatchObject({ code: 'CHECKPOINT_INVALID' })
    expect(warm.info().pool).toMatchObject({ created: 0, starting: 0, warm: 0, startFailures: failures })
    expect(warm.info().sessions).toBe(0)
    // Sessions of their own do not need warmFrom.
    const own = await warm.session({ limits: { executeTimeoutMs: 10_000 } })
    expect(await text(own, '1 + 1')).toBe('2')
  })

  test('a warmFrom id the journal does not hold is UNKNOWN_RECORD', async () => {
    const warm = capsule({ pool: { warmFrom: 'cp_missing' } })
    expect(await refusal(warm.session())).toMatchObject({ code: 'UNKNOWN_RECORD' })
    expect(await refusal(warm.session())).toMatchObject({ code: 'UNKNOWN_RECORD' })
    expect(warm.info().pool.created).toBe(0)
  })
})

import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, test } from 'vitest'
import { Capsule, type CapsuleOptions, isCapsuleError, memoryJournal } from '../../src/index.js'
import { defaultPython } from '../pythons.js'

const key = randomBytes(32)
const capsules: Capsule[] = []
function capsule(options: CapsuleOptions = {}): Capsule {
  const made = new Capsule({ python: defaultPython.python, sandbox: 'none', checkpointKey: key, ...options })
  capsules.push(made)
  return made
}
afterEach(async () => {
  await Promise.all(capsules.splice(0).map((c) => c.close()))
})

async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!isCapsuleError(error)) throw new Error(`expected a CapsuleError, got ${String(error)}`)
  return { code: error.code, details: error.details }
}

const BIG = 'big = bytes(range(256)) * 1024'

describe('maxCheckpointBytes', () => {
  test('a checkpoint past the limit fails with LIMIT_EXCEEDED, stores nothing, and the session runs on', async () => {
    const journal = memoryJournal()
    const session = await capsule({ journal, maxCheckpointBytes: 64 * 1024 }).session({ key: 'limited' })
    await session.run(`${BIG}\nsmall = 1`)
    expect(await failure(session.checkpoint())).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      details: { limit: 'maxCheckpointBytes', maxCheckpointBytes: 64 * 1024 },
    })
    expect(await journal.latestCheckpoint('limited')).toBeUndefined()
    // The rest of the checkpoint was drained: the same worker runs on with its namespace.
    expect(session.state).toBe('idle')
    expect((await session.run('len(big), small')).value?.['text/plain']).toBe('(262144, 1)')
    const after = await session.run('del big\nsmall = 2\nsmall')
    expect(after.value?.['text/plain']).toBe('2')
    const checkpoint = await session.checkpoint()
    expect(checkpoint.header.names.data).toEqual(['small'])
    expect((await journal.latestCheckpoint('limited'))?.id).toBe(checkpoint.id)
  })

  test('a restore of a larger checkpoint is refused before it reaches a worker', async () => {
    const source = await capsule().session()
    await source.run(BIG)
    const { bytes } = await source.checkpoint()
    expect(bytes.byteLength).toBeGreaterThan(256 * 1024)
    const small = capsule({ maxCheckpointBytes: 64 * 1024 })
    expect(await failure(small.session({ restore: bytes }))).toMatchObject({
      code: 'CHECKPOINT_INVALID',
      details: { reason: 'too_large' },
    })
    expect(small.info()).toMatchObject({ sessions: 0, pool: { inUse: 0, created: 0 } })
    const running = await small.session()
    await running.run('mine = 2')
    expect(await failure(running.restore(bytes))).toMatchObject({
      code: 'CHECKPOINT_INVALID',
      details: { reason: 'too_large' },
    })
    expect((await running.run('mine')).value?.['text/plain']).toBe('2')
    expect((await running.run('big')).error?.ename).toBe('NameError')
  })

  test('is checked as an option: a whole number of bytes ≥ 1', () => {
    expect(() => new Capsule({ maxCheckpointBytes: 0 })).toThrow(/maxCheckpointBytes/)
    expect(() => new Capsule({ maxCheckpointBytes: 1.5 })).toThrow(/maxCheckpointBytes/)
  })
})

import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { defineCapability, defineProvider } from '@capsule/provider-sdk'
import { afterEach, describe, expect, test } from 'vitest'
import { z } from 'zod'
import { Capsule, isCapsuleError, memoryJournal } from '../../src/index.js'
import { defaultPython } from '../pythons.js'

const dirs: string[] = []
const capsules: Capsule[] = []
afterEach(async () => {
  await Promise.all(capsules.splice(0).map((capsule) => capsule.close()))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A side effect anyone can count: each call appends one line to a real file. */
function ledgerProvider(file: string, seen: string[] = []) {
  return defineProvider({
    name: 'ledger',
    version: '1.0.0',
    capabilities: [
      defineCapability({
        name: 'append',
        level: 'sandbox',
        description: 'Append a line; returns how many lines the file has.',
        input: z.object({ line: z.string() }),
        output: z.number(),
        handler: ({ line }, ctx) => {
          seen.push(ctx.idempotencyKey ?? 'none')
          appendFileSync(file, `${line}\n`)
          return readFileSync(file, 'utf8').split('\n').length - 1
        },
      }),
    ],
  })
}

function setup(journal = memoryJournal(), options: { hostId?: string } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'capsule-durable-'))
  dirs.push(dir)
  const file = path.join(dir, 'effects.txt')
  appendFileSync(file, '')
  const seen: string[] = []
  const open = () => {
    const capsule = new Capsule({
      python: defaultPython.python,
      sandbox: 'none',
      providers: [ledgerProvider(file, seen)],
      journal,
      hostId: options.hostId ?? 'host-a',
    })
    capsules.push(capsule)
    return capsule
  }
  const lines = () => readFileSync(file, 'utf8').split('\n').filter(Boolean)
  return { journal, open, lines, seen }
}

describe('durable sessions', () => {
  test('a durable execution records its calls; the same idempotency key returns the outcome and runs nothing', async () => {
    const { open, lines, seen } = setup()
    const session = await open().session({ key: 'user-42' })
    expect(session.key).toBe('user-42')
    const first = await session.run('n = append("one")\nn', { idempotencyKey: 'req-1' })
    expect(first.status).toBe('ok')
    expect(first.value?.['text/plain']).toBe('1')
    expect(seen[0]).toMatch(/^.+\/ledger\.append\/[0-9a-f]{64}\/0$/)
    const again = await session.run('n = append("one")\nn', { idempotencyKey: 'req-1' })
    expect(again.value?.['text/plain']).toBe('1')
    expect(lines()).toEqual(['one'])
    expect((again as { durable?: { recorded: boolean } }).durable?.recorded).toBe(true)
  })

  test('the same idempotency key with other code is a CONFLICT', async () => {
    const { open } = setup()
    const session = await open().session({ key: 'k' })
    await session.run('1', { idempotencyKey: 'req' })
    const error = await session.run('2', { idempotencyKey: 'req' }).catch((e) => e)
    expect(isCapsuleError(error, 'CONFLICT')).toBe(true)
  })

  test('opening the key again in another Capsule replays the history: the namespace is back, no call runs again', async () => {
    const journal = memoryJournal()
    const { open, lines } = setup(journal)
    const first = open()
    const session = await first.session({ key: 'user-7' })
    await session.run('a = append("x")\nb = [append("y") for _ in range(2)]')
    const seeded = await session.run('import random\nhashed = hash("capsule")\nhashed')
    await first.close()
    expect(lines()).toEqual(['x', 'y', 'y'])
    const second = open()
    const again = await second.session({ key: 'user-7' })
    const result = await again.run('(a, b, hashed == hash("capsule"))')
    expect(result.value?.['text/plain']).toBe('(1, [2, 3], True)')
    // The session's hash seed is fixed and recorded: a new worker hashes strings as the first did.
    expect((await again.run('hash("capsule")')).value?.['text/plain']).toBe(seeded.value?.['text/plain'])
    expect(lines()).toEqual(['x', 'y', 'y'])
  })

  test('another live host holding the lease makes session() fail with SESSION_BUSY', async () => {
    const journal = memoryJournal()
    const a = setup(journal, { hostId: 'a' })
    await a.open().session({ key: 'shared' })
    const b = setup(journal.connect(), { hostId: 'b' })
    const error = await b
      .open()
      .session({ key: 'shared' })
      .catch((e) => e)
    expect(isCapsuleError(error, 'SESSION_BUSY')).toBe(true)
    expect(error.details.owner).toBe('a')
  })
})

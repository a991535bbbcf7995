import type { Journal } from '@capsule/core'
import { canonicalHash } from '@capsule/core/journal'
import { expect } from 'vitest'
import {
  expectCode,
  type JournalCheck,
  LONG_TTL_MS,
  sessionWithLease,
  submit,
  uniqueKey,
} from './journalCheckContext.js'

const MIB = 1024 * 1024

function hostileValue(): Record<string, unknown> {
  let deep: unknown = 'bottom'
  for (let depth = 0; depth < 200; depth += 1) deep = { d: deep }
  const proto = JSON.parse('{"__proto__":{"polluted":true},"constructor":"c"}') as unknown
  return {
    z: 'first key',
    10: 'integer-like key',
    a: [-0, 0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2n ** 100n, -(2n ** 70n)],
    bytes: new Uint8Array([0, 1, 254, 255]),
    empty: new Uint8Array(0),
    map: new Map<unknown, unknown>([
      [1, 'one'],
      ['1', 'string one'],
      [new Uint8Array([1]), { nested: new Map([[null, true]]) }],
    ]),
    $bytes: 'a key that looks like a tag',
    $$double: 1,
    proto,
    text: 'NUL\u0000 lone\ud800 surrogate, emoji 🐍, RTL \u202e',
    [`long-${'k'.repeat(4000)}`]: 'long key',
    deep,
    date: new Date(1_700_000_000_123),
  }
}

/** Checks of values, concurrency, durability across reopen and schema versions. */
export const durabilityChecks = {
  'values.large': async ({ journal }) => {
    const { sessionKey, lease } = await sessionWithLease(journal)
    const id = await submit(journal, sessionKey, `data = ${'1'.repeat(MIB)}`)
    const bytes = new Uint8Array(8 * MIB).map((_, index) => (index * 31) % 251)
    const text = 'é'.repeat(2 * MIB)
    const { record } = await journal.beginCall(lease, {
      executionId: id,
      capability: 'fs.read_file',
      argsHash: canonicalHash('big'),
      ordinal: 0,
    })
    await journal.settleCall(lease, id, record.key, { state: 'resolved', value: { bytes, text } })
    await journal.settleExecution(lease, id, { state: 'resolved', value: text })
    const [call] = await journal.listCalls(id)
    const value = call?.value as { bytes: Uint8Array; text: string }
    expect(Buffer.from(value.bytes).equals(Buffer.from(bytes))).toBe(true)
    expect(value.text === text).toBe(true)
    const execution = await journal.getExecution(id)
    expect(execution?.code.length).toBe(MIB + 7)
    expect(execution?.value === text).toBe(true)
  },

  'values.hostile': async ({ journal }) => {
    const { sessionKey, lease } = await sessionWithLease(journal)
    const id = await submit(journal, sessionKey, 'hostile = "\u0000\ud800"')
    const value = hostileValue()
    const { record: call } = await journal.beginCall(lease, {
      executionId: id,
      capability: 'x.y',
      argsHash: canonicalHash(value),
      ordinal: 0,
    })
    await journal.settleCall(lease, id, call.key, { state: 'rejected', error: value })
    const promiseId = `${id}/input/"quoted" 🐍 \u202e`
    await journal.createPromise(lease, { id: promiseId, kind: 'input', executionId: id, payload: value })
    await journal.settleExecution(lease, id, { state: 'resolved', value })
    const reads = [
      (await journal.listCalls(id))[0]?.error,
      (await journal.getPromise(promiseId))?.payload,
      (await journal.getExecution(id))?.value,
    ]
    for (const read of reads) {
      expect(read).toEqual(value)
      // Exactly, not merely equal: key order, -0, the prototype.
      const back = read as Record<string, unknown>
      expect(Object.keys(back)).toEqual(Object.keys(value))
      expect(Object.is((back.a as unknown[])[0], -0)).toBe(true)
      expect(Object.is((back.a as unknown[])[1], 0)).toBe(true)
      expect(Object.getPrototypeOf(back.proto)).toBe(Object.prototype)
      expect(Object.keys(back.proto as object)).toEqual(['__proto__', 'constructor'])
      expect(back.bytes).toBeInstanceOf(Uint8Array)
      expect(back.map).toBeInstanceOf(Map)
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect((await journal.getExecution(id))?.code).toBe('hostile = "\u0000\ud800"')
    // What a frame cannot hold is refused before anything is written.
    const other = await submit(journal, sessionKey)
    await expectCode(
      journal.settleExecution(lease, other, { state: 'resolved', value: { f: () => 1 } }),
      'INVALID_ARGUMENT',
    )
    await expectCode(
      journal.createPromise(lease, {
        id: uniqueKey('p'),
        kind: 'input',
        executionId: other,
        payload: Symbol('s'),
      }),
      'INVALID_ARGUMENT',
    )
    expect((await journal.getExecution(other))?.state).toBe('pending')
    expect(await journal.listPromises({ executionId: other })).toEqual([])
  },

  'lease.concurrent-claim': async ({ journal, connect }) => {
    const instances: Journal[] = [journal]
    for (let index = 1; index < 4; index += 1) instances.push(await connect())
    for (let round = 0; round < 5; round += 1) {
      const sessionKey = uniqueKey()
      await journal.ensureSession({ key: sessionKey, pythonHashSeed: 1, policyFingerprint: '' })
      const claims = await Promise.all(
        instances.map((instance, index) =>
          instance.claimLease({ sessionKey, owner: `host-${index}`, ttlMs: LONG_TTL_MS }),
        ),
      )
      const winners = claims.filter((claim) => claim !== null)
      expect(winners.length).toBe(1)
      expect(winners[0]?.epoch).toBe(1)
      expect((await journal.getSession(sessionKey))?.owner).toBe(winners[0]?.owner)
    }
  },

  'durable.reopen': async ({ journal, fixture }) => {
    const { sessionKey, lease } = await sessionWithLease(journal)
    const done = await submit(journal, sessionKey, 'a = 1')
    const pending = await submit(journal, sessionKey, 'b = 2')
    const { record: call } = await journal.beginCall(lease, {
      executionId: done,
      capability: 'x.y',
      argsHash: canonicalHash(1),
      ordinal: 0,
    })
    await journal.settleCall(lease, done, call.key, { state: 'resolved', value: new Uint8Array([7]) })
    await journal.settleExecution(lease, done, { state: 'resolved', value: 'one' })
    await journal.beginCall(lease, {
      executionId: pending,
      capability: 'x.y',
      argsHash: canonicalHash(2),
      ordinal: 0,
    })
    await journal.createPromise(lease, {
      id: `${pending}/input/0`,
      kind: 'input',
      executionId: pending,
      payload: 'q',
    })
    await journal.putCheckpoint(lease, {
      id: `${sessionKey}/cp`,
      sequence: 1,
      blob: new Uint8Array([1, 2, 3]),
    })
    const before = {
      session: await journal.getSession(sessionKey),
      executions: await journal.listExecutions(sessionKey),
      done: await journal.listCalls(done),
      pending: await journal.listCalls(pending),
      promises: await journal.listPromises({ sessionKey }),
      checkpoint: await journal.latestCheckpoint(sessionKey),
    }
    const reopened = await fixture.reopen!()
    await reopened.open()
    expect({
      session: await reopened.getSession(sessionKey),
      executions: await reopened.listExecutions(sessionKey),
      done: await reopened.listCalls(done),
      pending: await reopened.listCalls(pending),
      promises: await reopened.listPromises({ sessionKey }),
      checkpoint: await reopened.latestCheckpoint(sessionKey),
    }).toEqual(before)
    // The lease survived too: its holder still writes, and nobody else may claim it.
    await reopened.settleExecution(lease, pending, { state: 'resolved', value: 'two' })
    expect(await reopened.claimLease({ sessionKey, owner: 'host-b', ttlMs: LONG_TTL_MS })).toBeNull()
    await reopened.close()
  },

  'schema.newer-refused': async ({ journal, fixture }) => {
    await journal.ensureSession({ key: 'kept', pythonHashSeed: 1, policyFingerprint: '' })
    await journal.close()
    await fixture.simulateNewerSchema!()
    const reopened = await fixture.reopen!()
    const error = await expectCode(reopened.open(), 'JOURNAL_VERSION')
    expect(error.message).toMatch(/newer/)
    await expectCode(reopened.getSession('kept'), 'JOURNAL_VERSION')
    await reopened.close()
  },
} satisfies Record<string, JournalCheck>

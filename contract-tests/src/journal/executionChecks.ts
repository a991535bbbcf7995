import { createHash } from 'node:crypto'
import { callKey, canonicalHash } from '@capsule/core/journal'
import { expect } from 'vitest'
import {
  expectCode,
  type JournalCheck,
  LONG_TTL_MS,
  sessionWithLease,
  sleep,
  submit,
  uniqueKey,
} from './journalCheckContext.js'

const read = (path: string) => ({ capability: 'fs.read_file', argsHash: canonicalHash({ path }) })

/** Checks of executions and capability calls. */
export const executionChecks = {
  'execution.sequence': async ({ journal }) => {
    const key = uniqueKey()
    await journal.ensureSession({ key, pythonHashSeed: 7, policyFingerprint: 'p' })
    const codes = ['a = 1', 'b = a + 1', 'print("é")']
    const created = []
    for (const code of codes) {
      created.push(
        await journal.createExecution({
          sessionKey: key,
          code,
          policyFingerprint: 'p',
          submittedBy: 'host-x',
        }),
      )
    }
    expect(created.map((c) => [c.created, c.record.sequence])).toEqual([
      [true, 1],
      [true, 2],
      [true, 3],
    ])
    const third = created[2]!.record
    expect(third).toMatchObject({
      sessionKey: key,
      code: 'print("é")',
      codeHash: createHash('sha256').update('print("é")', 'utf8').digest('hex'),
      policyFingerprint: 'p',
      idempotencyKey: null,
      submittedBy: 'host-x',
      owner: null,
      attempts: 0,
      state: 'pending',
      settledAt: null,
    })
    expect(new Set(created.map((c) => c.record.id)).size).toBe(3)
    expect((await journal.listExecutions(key)).map((e) => e.code)).toEqual(codes)
    expect(await journal.getExecution(third.id)).toEqual(third)
    expect((await journal.getSession(key))?.lastSequence).toBe(3)
    expect(await journal.getExecution(uniqueKey('execution'))).toBeUndefined()
    await expectCode(
      journal.createExecution({ sessionKey: uniqueKey(), code: '', policyFingerprint: '' }),
      'UNKNOWN_RECORD',
    )
  },

  'execution.idempotency': async ({ journal }) => {
    const { sessionKey } = await sessionWithLease(journal)
    const first = await journal.createExecution({
      sessionKey,
      code: 'x = 1',
      policyFingerprint: 'p',
      idempotencyKey: 'req-17',
    })
    const again = await journal.createExecution({
      sessionKey,
      code: 'x = 1',
      policyFingerprint: 'p',
      idempotencyKey: 'req-17',
    })
    expect(first.created).toBe(true)
    expect(again).toEqual({ record: first.record, created: false })
    const conflict = await expectCode(
      journal.createExecution({
        sessionKey,
        code: 'x = 2',
        policyFingerprint: 'p',
        idempotencyKey: 'req-17',
      }),
      'CONFLICT',
    )
    expect((conflict as { details?: unknown }).details).toMatchObject({
      idempotencyKey: 'req-17',
      executionId: first.record.id,
    })
    expect((await journal.listExecutions(sessionKey)).length).toBe(1)
    const other = await sessionWithLease(journal)
    const elsewhere = await journal.createExecution({
      sessionKey: other.sessionKey,
      code: 'x = 2',
      policyFingerprint: 'p',
      idempotencyKey: 'req-17',
    })
    expect(elsewhere.created).toBe(true)
    // A settled execution is still the recorded outcome for its key.
    await journal.settleExecution(other.lease, elsewhere.record.id, {
      state: 'resolved',
      value: { 'text/plain': '2' },
    })
    const replayed = await journal.createExecution({
      sessionKey: other.sessionKey,
      code: 'x = 2',
      policyFingerprint: 'p',
      idempotencyKey: 'req-17',
    })
    expect(replayed).toMatchObject({
      created: false,
      record: { state: 'resolved', value: { 'text/plain': '2' } },
    })
  },

  'execution.lifecycle': async ({ journal }) => {
    const { sessionKey, lease } = await sessionWithLease(journal)
    const id = await submit(journal, sessionKey)
    expect(await journal.startExecution(lease, id)).toMatchObject({
      owner: 'host-a',
      attempts: 1,
      state: 'pending',
    })
    expect((await journal.startExecution(lease, id)).attempts).toBe(2)
    const value = { status: 'ok', value: { 'text/plain': '42' }, stdout: 'hi\n' }
    const settled = await journal.settleExecution(lease, id, { state: 'resolved', value })
    expect(settled.settled).toBe(true)
    expect(settled.record).toMatchObject({ state: 'resolved', value, error: undefined })
    expect(typeof settled.record.settledAt).toBe('number')
    const twice = await journal.settleExecution(lease, id, { state: 'resolved', value })
    expect(twice).toEqual({ record: settled.record, settled: false })
    const conflict = await expectCode(
      journal.settleExecution(lease, id, { state: 'rejected', error: 'late' }),
      'CONFLICT',
    )
    expect((conflict as { details?: unknown }).details).toMatchObject({ recordedState: 'resolved' })
    await expectCode(journal.settleExecution(lease, id, { state: 'resolved', value: 'other' }), 'CONFLICT')
    await expectCode(journal.startExecution(lease, id), 'CONFLICT')
    expect(await journal.getExecution(id)).toEqual(settled.record)
  },

  'execution.claimable': async ({ journal }) => {
    const mine = await sessionWithLease(journal, 'host-a')
    const theirs = await sessionWithLease(journal, 'host-b')
    const lapsed = await sessionWithLease(journal, 'host-c', 150)
    const free = uniqueKey()
    await journal.ensureSession({ key: free, pythonHashSeed: 1, policyFingerprint: '' })
    const a1 = await submit(journal, mine.sessionKey)
    const b1 = await submit(journal, theirs.sessionKey)
    const c1 = await submit(journal, lapsed.sessionKey)
    const f1 = await submit(journal, free)
    const a2 = await submit(journal, mine.sessionKey)
    const done = await submit(journal, mine.sessionKey)
    await journal.settleExecution(mine.lease, done, { state: 'rejected_canceled', error: 'cancelled' })
    await sleep(450)
    const ours = new Set([a1, b1, c1, f1, a2, done])
    const claimable = (await journal.listClaimable('host-a')).map((e) => e.id).filter((id) => ours.has(id))
    expect(claimable).toEqual([a1, c1, f1, a2])
    expect((await journal.listClaimable('host-b')).map((e) => e.id).filter((id) => ours.has(id))).toEqual([
      b1,
      c1,
      f1,
    ])
    // Oldest first and limited: a journal shared with other checks may hold more, so only bounds are asserted.
    expect((await journal.listClaimable('host-a', { limit: 2 })).length).toBeLessThanOrEqual(2)
  },

  'call.create-or-get': async ({ journal }) => {
    const { sessionKey, lease } = await sessionWithLease(journal)
    const id = await submit(journal, sessionKey)
    const a = read('a.txt')
    const b = read('b.txt')
    const first = await journal.beginCall(lease, { executionId: id, ...a, ordinal: 0 })
    expect(first.created).toBe(true)
    expect(first.record).toMatchObject({
      executionId: id,
      key: callKey(a.capability, a.argsHash, 0),
      ...a,
      ordinal: 0,
      state: 'pending',
      value: undefined,
      settledAt: null,
    })
    const second = await journal.beginCall(lease, { executionId: id, ...a, ordinal: 1 })
    const third = await journal.beginCall(lease, { executionId: id, ...b, ordinal: 0 })
    expect(await journal.beginCall(lease, { executionId: id, ...a, ordinal: 0 })).toEqual({
      record: first.record,
      created: false,
    })
    const settled = await journal.settleCall(lease, id, second.record.key, {
      state: 'resolved',
      value: 'second',
    })
    expect(settled).toMatchObject({ settled: true, record: { state: 'resolved', value: 'second' } })
    expect(
      await journal.settleCall(lease, id, second.record.key, { state: 'resolved', value: 'second' }),
    ).toEqual({
      record: settled.record,
      settled: false,
    })
    await expectCode(
      journal.settleCall(lease, id, second.record.key, { state: 'resolved', value: 'other' }),
      'CONFLICT',
    )
    await expectCode(
      journal.settleCall(lease, id, callKey(a.capability, a.argsHash, 9), { state: 'resolved', value: 1 }),
      'UNKNOWN_RECORD',
    )
    expect((await journal.listCalls(id)).map((c) => c.key)).toEqual([
      first.record.key,
      second.record.key,
      third.record.key,
    ])
    expect((await journal.listCalls(id)).map((c) => c.state)).toEqual(['pending', 'resolved', 'pending'])
    await journal.settleExecution(lease, id, { state: 'resolved', value: null })
    // Replay reads recorded calls of a final execution; it cannot add new ones.
    expect((await journal.beginCall(lease, { executionId: id, ...a, ordinal: 1 })).created).toBe(false)
    await expectCode(journal.beginCall(lease, { executionId: id, ...a, ordinal: 2 }), 'CONFLICT')
    expect((await journal.listCalls(id)).length).toBe(3)
  },

  'call.states': async ({ journal }) => {
    const { sessionKey, lease } = await sessionWithLease(journal)
    const id = await submit(journal, sessionKey)
    const settlements = [
      { state: 'resolved', value: { ok: true, bytes: new Uint8Array([1, 2]) } },
      { state: 'rejected', error: { code: 'DENIED', message: 'no', details: { rule: 'deny' } } },
      { state: 'rejected_canceled', error: { code: 'CANCELLED', message: 'interrupted' } },
      { state: 'rejected_timedout', error: { code: 'TIMEOUT', message: 'after 5000 ms' } },
    ] as const
    for (const [ordinal, settlement] of settlements.entries()) {
      const { record } = await journal.beginCall(lease, { executionId: id, ...read('s'), ordinal })
      await journal.settleCall(lease, id, record.key, settlement)
    }
    const calls = await journal.listCalls(id)
    expect(
      calls.map((c) => ({
        state: c.state,
        ...('value' in c && c.state === 'resolved' ? { value: c.value } : { error: c.error }),
      })),
    ).toEqual(settlements.map((s) => ({ ...s })))
    for (const call of calls) expect(typeof call.settledAt).toBe('number')
  },

  'call.other-session': async ({ journal }) => {
    const one = await sessionWithLease(journal)
    const two = await sessionWithLease(journal)
    const id = await submit(journal, two.sessionKey)
    await expectCode(
      journal.beginCall(one.lease, { executionId: id, ...read('x'), ordinal: 0 }),
      'INVALID_ARGUMENT',
    )
    await expectCode(journal.startExecution(one.lease, id), 'INVALID_ARGUMENT')
    await expectCode(
      journal.settleExecution(one.lease, id, { state: 'resolved', value: 1 }),
      'INVALID_ARGUMENT',
    )
    await expectCode(
      journal.createPromise(one.lease, { id: uniqueKey('p'), kind: 'input', executionId: id, payload: null }),
      'INVALID_ARGUMENT',
    )
    expect(await journal.listCalls(id)).toEqual([])
    expect(await journal.getExecution(id)).toMatchObject({ state: 'pending', attempts: 0 })
    await expectCode(journal.startExecution(one.lease, uniqueKey('execution')), 'UNKNOWN_RECORD')
    await expectCode(
      journal.beginCall(one.lease, { executionId: uniqueKey('e'), ...read('x'), ordinal: 0 }),
      'UNKNOWN_RECORD',
    )
    await expectCode(journal.settlePromise(uniqueKey('p'), { state: 'resolved', value: 1 }), 'UNKNOWN_RECORD')
    await expectCode(
      journal.renewLease({ sessionKey: uniqueKey(), owner: 'h', epoch: 1 }, LONG_TTL_MS),
      'UNKNOWN_RECORD',
    )
  },
} satisfies Record<string, JournalCheck>

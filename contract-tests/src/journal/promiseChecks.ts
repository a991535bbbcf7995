import type { Journal } from '@capsule/core'
import { expect } from 'vitest'
import {
  expectCode,
  type JournalCheck,
  sessionWithLease,
  sleep,
  submit,
  uniqueKey,
} from './journalCheckContext.js'

async function pendingPromise(journal: Journal) {
  const { sessionKey, lease } = await sessionWithLease(journal)
  const executionId = await submit(journal, sessionKey)
  const id = `${executionId}/input/0`
  await journal.createPromise(lease, { id, kind: 'input', executionId, payload: { prompt: 'Name? ' } })
  return { sessionKey, lease, executionId, id }
}

/** Checks of HITL promises, waits and checkpoints. */
export const promiseChecks = {
  'promise.lifecycle': async ({ journal }) => {
    const { sessionKey, lease } = await sessionWithLease(journal)
    const executionId = await submit(journal, sessionKey)
    const input = {
      id: `${executionId}/input/0`,
      kind: 'input' as const,
      executionId,
      payload: { prompt: 'Name? ' },
    }
    const doubt = {
      id: `${executionId}/in_doubt/0`,
      kind: 'in_doubt' as const,
      executionId,
      payload: { capability: 'http.fetch', args: { url: 'https://example.org' } },
    }
    const created = await journal.createPromise(lease, input)
    expect(created).toMatchObject({
      created: true,
      record: { ...input, sessionKey, state: 'pending', value: undefined, error: undefined, settledAt: null },
    })
    await journal.createPromise(lease, doubt)
    expect(await journal.createPromise(lease, input)).toEqual({ record: created.record, created: false })
    await expectCode(journal.createPromise(lease, { ...input, payload: { prompt: 'Other? ' } }), 'CONFLICT')
    await expectCode(journal.createPromise(lease, { ...input, kind: 'in_doubt' }), 'CONFLICT')
    const ids = async (filter: Parameters<Journal['listPromises']>[0]) =>
      (await journal.listPromises(filter)).map((p) => p.id).sort()
    expect(await ids({ executionId })).toEqual([doubt.id, input.id].sort())
    expect(await ids({ sessionKey, kind: 'input' })).toEqual([input.id])
    expect(await ids({ sessionKey, kind: 'in_doubt', state: 'pending' })).toEqual([doubt.id])
    // Any process answers: no lease.
    const answered = await journal.settlePromise(input.id, { state: 'resolved', value: 'Ada' })
    expect(answered).toMatchObject({ settled: true, record: { state: 'resolved', value: 'Ada' } })
    expect(await journal.settlePromise(input.id, { state: 'resolved', value: 'Ada' })).toEqual({
      record: answered.record,
      settled: false,
    })
    await expectCode(journal.settlePromise(input.id, { state: 'resolved', value: 'Bob' }), 'CONFLICT')
    expect(await ids({ sessionKey, state: 'pending' })).toEqual([doubt.id])
    expect(await ids({ sessionKey, state: 'resolved' })).toEqual([input.id])
    expect(await journal.getPromise(input.id)).toEqual(answered.record)
    expect(await journal.getPromise(uniqueKey('p'))).toBeUndefined()
  },

  'wait.execution': async ({ journal }) => {
    const { sessionKey, lease } = await sessionWithLease(journal)
    const id = await submit(journal, sessionKey)
    const waiting = journal.waitExecution(id)
    await sleep(50)
    await journal.settleExecution(lease, id, { state: 'resolved', value: 'done' })
    expect(await waiting).toMatchObject({ id, state: 'resolved', value: 'done' })
    expect(await journal.waitExecution(id)).toMatchObject({ state: 'resolved' })
    const other = await submit(journal, sessionKey)
    await expectCode(journal.waitExecution(other, { timeoutMs: 100 }), 'TIMEOUT')
    const abort = new AbortController()
    const aborted = expectCode(journal.waitExecution(other, { signal: abort.signal }), 'CANCELLED')
    abort.abort()
    await aborted
    await expectCode(journal.waitExecution(other, { signal: AbortSignal.abort() }), 'CANCELLED')
    await expectCode(journal.waitExecution(uniqueKey('execution')), 'UNKNOWN_RECORD')
  },

  'wait.promise': async ({ journal }) => {
    const { id } = await pendingPromise(journal)
    const waiting = journal.waitPromise(id)
    const abort = new AbortController()
    const aborted = expectCode(journal.waitPromise(id, { signal: abort.signal }), 'CANCELLED')
    await sleep(50)
    abort.abort()
    await aborted
    await journal.settlePromise(id, { state: 'rejected_timedout', error: 'nobody answered' })
    expect(await waiting).toMatchObject({ id, state: 'rejected_timedout', error: 'nobody answered' })
    expect(await journal.waitPromise(id, { timeoutMs: 10 })).toMatchObject({ state: 'rejected_timedout' })
    const second = await pendingPromise(journal)
    await expectCode(journal.waitPromise(second.id, { timeoutMs: 100 }), 'TIMEOUT')
    await expectCode(journal.waitPromise(uniqueKey('p')), 'UNKNOWN_RECORD')
  },

  'wait.other-instance': async ({ journal, connect }) => {
    const other = await connect()
    const { lease, executionId, id } = await pendingPromise(journal)
    const promiseWait = other.waitPromise(id, { timeoutMs: 15_000 })
    const executionWait = journal.waitExecution(executionId, { timeoutMs: 15_000 })
    await sleep(100)
    await journal.settlePromise(id, { state: 'resolved', value: 'from the first instance' })
    expect(await promiseWait).toMatchObject({ state: 'resolved', value: 'from the first instance' })
    // And the other way round, settled by the lease holder seen from the other instance.
    const fromOther = await other.getExecution(executionId)
    expect(fromOther?.state).toBe('pending')
    await other.settleExecution(lease, executionId, { state: 'resolved', value: 'from the other instance' })
    expect(await executionWait).toMatchObject({ state: 'resolved', value: 'from the other instance' })
  },

  'checkpoint.store': async ({ journal }) => {
    const { sessionKey, lease } = await sessionWithLease(journal)
    const blob = new Uint8Array(70_000).map((_, index) => (index * 7) % 256)
    const first = await journal.putCheckpoint(lease, { id: uniqueKey('cp'), sequence: 3, blob })
    expect(first.created).toBe(true)
    expect(first.record).toMatchObject({ sessionKey, sequence: 3 })
    expect(Buffer.from(first.record.blob).equals(Buffer.from(blob))).toBe(true)
    expect(await journal.putCheckpoint(lease, { id: first.record.id, sequence: 3, blob })).toMatchObject({
      created: false,
    })
    await expectCode(
      journal.putCheckpoint(lease, { id: first.record.id, sequence: 3, blob: new Uint8Array([1]) }),
      'CONFLICT',
    )
    const later = await journal.putCheckpoint(lease, {
      id: uniqueKey('cp'),
      sequence: 5,
      blob: new Uint8Array([5]),
    })
    await journal.putCheckpoint(lease, { id: uniqueKey('cp'), sequence: 4, blob: new Uint8Array([4]) })
    const latest = await journal.latestCheckpoint(sessionKey)
    expect(latest?.id).toBe(later.record.id)
    expect([...(latest?.blob ?? [])]).toEqual([5])
    const read = await journal.getCheckpoint(first.record.id)
    expect(read?.blob).toBeInstanceOf(Uint8Array)
    expect(Buffer.from(read!.blob).equals(Buffer.from(blob))).toBe(true)
    expect(await journal.getCheckpoint(uniqueKey('cp'))).toBeUndefined()
    expect(await journal.latestCheckpoint(uniqueKey())).toBeUndefined()
  },
} satisfies Record<string, JournalCheck>

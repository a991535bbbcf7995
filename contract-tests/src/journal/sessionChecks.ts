import { canonicalHash } from '@capsule/core/journal'
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

const hash = canonicalHash({ path: 'a.txt' })

/** Checks of open, close, input validation, sessions, leases and fencing. */
export const sessionChecks = {
  'journal.open': async ({ journal }) => {
    const info = await journal.open()
    expect(typeof info.backend).toBe('string')
    expect(info.backend.length).toBeGreaterThan(0)
    expect(Number.isInteger(info.schemaVersion) && info.schemaVersion >= 1).toBe(true)
    expect(await journal.open()).toEqual(info)
  },

  'journal.close': async ({ journal }) => {
    const { sessionKey, lease } = await sessionWithLease(journal)
    const id = await submit(journal, sessionKey)
    const waiting = journal.waitExecution(id)
    const waited = expectCode(waiting, 'JOURNAL_UNAVAILABLE')
    await sleep(100) // the wait is registered, not just requested
    await journal.close()
    await journal.close()
    await waited
    await expectCode(journal.getSession(sessionKey), 'JOURNAL_UNAVAILABLE')
    await expectCode(
      journal.ensureSession({ key: 'k', pythonHashSeed: 1, policyFingerprint: '' }),
      'JOURNAL_UNAVAILABLE',
    )
    await expectCode(
      journal.settleExecution(lease, id, { state: 'resolved', value: 1 }),
      'JOURNAL_UNAVAILABLE',
    )
    await expectCode(journal.open(), 'JOURNAL_UNAVAILABLE')
  },

  'journal.invalid-input': async ({ journal }) => {
    const { sessionKey, lease } = await sessionWithLease(journal)
    const id = await submit(journal, sessionKey)
    const bad = [
      () => journal.ensureSession({ key: '', pythonHashSeed: 1, policyFingerprint: '' }),
      () => journal.ensureSession({ key: 'k', pythonHashSeed: -1, policyFingerprint: '' }),
      () => journal.ensureSession({ key: 'k', pythonHashSeed: 2 ** 32, policyFingerprint: '' }),
      () => journal.ensureSession({ key: 'k', pythonHashSeed: 1, policyFingerprint: '', extra: 1 } as never),
      () => journal.claimLease({ sessionKey, owner: 'h', ttlMs: 0 }),
      () => journal.claimLease({ sessionKey, owner: '', ttlMs: 10 }),
      () => journal.claimLease({ sessionKey, owner: 'nul\u0000', ttlMs: 10 }),
      () => journal.ensureSession({ key: 'lone\ud800', pythonHashSeed: 1, policyFingerprint: '' }),
      () => journal.renewLease(lease, -5),
      () => journal.createExecution({ sessionKey, code: 1 as never, policyFingerprint: '' }),
      () =>
        journal.beginCall(lease, {
          executionId: id,
          capability: 'fs.read',
          argsHash: 'not-a-hash',
          ordinal: 0,
        }),
      () => journal.beginCall(lease, { executionId: id, capability: 'fs.read', argsHash: hash, ordinal: -1 }),
      () => journal.beginCall(lease, { executionId: id, capability: 'a/b', argsHash: hash, ordinal: 0 }),
      () => journal.settleExecution(lease, id, { state: 'pending', value: 1 } as never),
      () => journal.settleExecution(lease, id, { state: 'done', value: 1 } as never),
      () => journal.settleExecution(lease, id, { state: 'rejected' } as never),
      () => journal.createPromise(lease, { id: 'p', kind: 'other' as never, executionId: id, payload: null }),
      () => journal.listClaimable('h', { limit: 0 }),
      () => journal.waitExecution(id, { timeoutMs: -1 }),
    ]
    for (const operation of bad) await expectCode(operation(), 'INVALID_ARGUMENT')
    expect(await journal.getSession('k')).toBeUndefined()
    expect(await journal.listCalls(id)).toEqual([])
    expect((await journal.getExecution(id))?.state).toBe('pending')
    expect(await journal.listPromises({ executionId: id })).toEqual([])
  },

  'session.create-or-get': async ({ journal }) => {
    const key = uniqueKey()
    expect(await journal.getSession(key)).toBeUndefined()
    const first = await journal.ensureSession({ key, pythonHashSeed: 1234, policyFingerprint: 'p1' })
    expect(first.created).toBe(true)
    expect(first.record).toMatchObject({
      key,
      pythonHashSeed: 1234,
      policyFingerprint: 'p1',
      owner: null,
      leaseExpiresAt: null,
      epoch: 0,
      lastSequence: 0,
    })
    const again = await journal.ensureSession({ key, pythonHashSeed: 99, policyFingerprint: 'p2' })
    expect(again.created).toBe(false)
    expect(again.record).toEqual(first.record)
    expect(await journal.getSession(key)).toEqual(first.record)
  },

  'lease.claim': async ({ journal }) => {
    const key = uniqueKey()
    await journal.ensureSession({ key, pythonHashSeed: 1, policyFingerprint: '' })
    const before = Date.now()
    const lease = await journal.claimLease({ sessionKey: key, owner: 'host-a', ttlMs: LONG_TTL_MS })
    expect(lease).toMatchObject({ sessionKey: key, owner: 'host-a', epoch: 1 })
    // The expiry is by the journal's clock (a server's, maybe): only roughly ours.
    expect(Math.abs(lease!.expiresAt - (before + LONG_TTL_MS))).toBeLessThan(30_000)
    expect(await journal.claimLease({ sessionKey: key, owner: 'host-b', ttlMs: LONG_TTL_MS })).toBeNull()
    const again = await journal.claimLease({ sessionKey: key, owner: 'host-a', ttlMs: LONG_TTL_MS })
    expect(again).toMatchObject({ owner: 'host-a', epoch: 2 })
    expect(await journal.getSession(key)).toMatchObject({
      owner: 'host-a',
      epoch: 2,
      leaseExpiresAt: again!.expiresAt,
    })
    await expectCode(journal.claimLease({ sessionKey: uniqueKey(), owner: 'h', ttlMs: 10 }), 'UNKNOWN_RECORD')
  },

  'lease.expiry': async ({ journal }) => {
    const { sessionKey, lease } = await sessionWithLease(journal, 'host-a', 200)
    expect(await journal.claimLease({ sessionKey, owner: 'host-b', ttlMs: LONG_TTL_MS })).toBeNull()
    await sleep(600)
    const taken = await journal.claimLease({ sessionKey, owner: 'host-b', ttlMs: LONG_TTL_MS })
    expect(taken).toMatchObject({ owner: 'host-b', epoch: lease.epoch + 1 })
  },

  'lease.renew-release': async ({ journal }) => {
    const { sessionKey, lease } = await sessionWithLease(journal, 'host-a', 1000)
    const renewed = await journal.renewLease(lease, LONG_TTL_MS)
    expect(renewed.epoch).toBe(lease.epoch)
    expect(renewed.expiresAt).toBeGreaterThan(lease.expiresAt)
    await journal.releaseLease(renewed)
    expect(await journal.getSession(sessionKey)).toMatchObject({ owner: null, leaseExpiresAt: null })
    const taken = await journal.claimLease({ sessionKey, owner: 'host-b', ttlMs: LONG_TTL_MS })
    expect(taken).toMatchObject({ owner: 'host-b', epoch: lease.epoch + 1 })
    await expectCode(journal.renewLease(lease, LONG_TTL_MS), 'LEASE_LOST')
    await expectCode(journal.releaseLease(lease), 'LEASE_LOST')
    // A token naming the right epoch but another owner is no better.
    await expectCode(journal.renewLease({ ...taken!, owner: 'host-c' }, LONG_TTL_MS), 'LEASE_LOST')
    expect(await journal.getSession(sessionKey)).toMatchObject({ owner: 'host-b', epoch: taken!.epoch })
  },

  'fencing.stale-epoch': async ({ journal }) => {
    const { sessionKey, lease: stale } = await sessionWithLease(journal, 'host-a', 150)
    const id = await submit(journal, sessionKey)
    const recorded = await journal.beginCall(stale, {
      executionId: id,
      capability: 'fs.read',
      argsHash: hash,
      ordinal: 0,
    })
    const promiseId = `${id}/input/0`
    await sleep(450)
    const fresh = await journal.claimLease({ sessionKey, owner: 'host-b', ttlMs: LONG_TTL_MS })
    expect(fresh?.epoch).toBe(stale.epoch + 1)
    const call = { executionId: id, capability: 'fs.read', argsHash: hash, ordinal: 1 }
    const writes = [
      () => journal.startExecution(stale, id),
      () => journal.settleExecution(stale, id, { state: 'resolved', value: 'stale' }),
      () => journal.beginCall(stale, call),
      () => journal.settleCall(stale, id, recorded.record.key, { state: 'resolved', value: 'stale' }),
      () =>
        journal.createPromise(stale, { id: promiseId, kind: 'input', executionId: id, payload: 'stale?' }),
      () => journal.putCheckpoint(stale, { id: uniqueKey('cp'), sequence: 1, blob: new Uint8Array([1]) }),
      () => journal.renewLease(stale, LONG_TTL_MS),
      () => journal.releaseLease(stale),
    ]
    for (const write of writes) {
      const error = await expectCode(write(), 'LEASE_LOST')
      expect((error as { details?: unknown }).details).toMatchObject({
        sessionKey,
        epoch: stale.epoch,
        currentEpoch: fresh!.epoch,
      })
    }
    expect(await journal.getExecution(id)).toMatchObject({ state: 'pending', attempts: 0, owner: null })
    expect((await journal.listCalls(id)).map((c) => [c.ordinal, c.state])).toEqual([[0, 'pending']])
    expect(await journal.getPromise(promiseId)).toBeUndefined()
    expect(await journal.latestCheckpoint(sessionKey)).toBeUndefined()
    expect(await journal.getSession(sessionKey)).toMatchObject({ owner: 'host-b', epoch: fresh!.epoch })
    // The new holder writes normally.
    await journal.settleCall(fresh!, id, recorded.record.key, { state: 'resolved', value: 'fresh' })
    expect((await journal.listCalls(id))[0]?.value).toBe('fresh')
  },
} satisfies Record<string, JournalCheck>

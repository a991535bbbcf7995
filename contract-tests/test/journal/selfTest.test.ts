import * as journalContract from '@capsule/contract-tests/journal'
import {
  JOURNAL_CHECKS,
  JOURNAL_REQUIREMENTS,
  type JournalFixtureFactory,
  type JournalRequirementId,
  runJournalRequirement,
} from '@capsule/contract-tests/journal'
import { isCapsuleError, type Journal, type LeaseToken, memoryJournal } from '@capsule/core'
import { describe, expect, test } from 'vitest'

const honest: JournalFixtureFactory = async () => {
  const journal = memoryJournal()
  return { journal, connect: async () => journal.connect(), cleanup: async () => {} }
}

// A memory journal with one method replaced; `connect` shares the replacement, so a broken claim is broken
// on every instance.
function broken(patch: (journal: Journal) => Partial<Journal>): JournalFixtureFactory {
  return async () => {
    const base = memoryJournal()
    const wrap = (inner: Journal): Journal => ({ ...inner, ...patch(inner) })
    return { journal: wrap(base), connect: async () => wrap(base.connect()), cleanup: async () => {} }
  }
}

const brokenJournals: Record<string, { breaks: JournalRequirementId[]; factory: JournalFixtureFactory }> = {
  'a claim that ignores a live lease': {
    breaks: ['lease.claim', 'lease.concurrent-claim'],
    factory: broken((inner) => ({
      async claimLease(claim) {
        const lease = await inner.claimLease(claim)
        if (lease) return lease
        const session = await inner.getSession(claim.sessionKey)
        return {
          sessionKey: claim.sessionKey,
          owner: claim.owner,
          epoch: session!.epoch,
          expiresAt: Date.now(),
        }
      },
    })),
  },
  'writes that are not fenced': {
    breaks: ['fencing.stale-epoch'],
    factory: broken((inner) => {
      const current = async (lease: LeaseToken): Promise<LeaseToken> => {
        const session = await inner.getSession(lease.sessionKey)
        return { sessionKey: lease.sessionKey, owner: session!.owner ?? lease.owner, epoch: session!.epoch }
      }
      return {
        startExecution: async (lease, id) => inner.startExecution(await current(lease), id),
        settleExecution: async (lease, id, settlement) =>
          inner.settleExecution(await current(lease), id, settlement),
        beginCall: async (lease, init) => inner.beginCall(await current(lease), init),
      }
    }),
  },
  'idempotency keys that are ignored': {
    breaks: ['execution.idempotency'],
    factory: broken((inner) => ({
      createExecution: ({ idempotencyKey: _ignored, ...init }) => inner.createExecution(init),
    })),
  },
  'a second settle that overwrites': {
    breaks: ['execution.lifecycle'],
    factory: broken((inner) => ({
      async settleExecution(lease, id, settlement) {
        try {
          return await inner.settleExecution(lease, id, settlement)
        } catch (error) {
          if (!isCapsuleError(error, 'CONFLICT')) throw error
          return { record: (await inner.getExecution(id))!, settled: true }
        }
      },
    })),
  },
  'values that lose what JSON cannot hold': {
    breaks: ['values.hostile'],
    factory: broken((inner) => ({
      async getExecution(id) {
        const record = await inner.getExecution(id)
        return record && { ...record, value: JSON.parse(JSON.stringify(record.value ?? null)) }
      },
    })),
  },
  'a wait that returns before the settle': {
    breaks: ['wait.execution'],
    factory: broken((inner) => ({ waitExecution: async (id) => (await inner.getExecution(id))! })),
  },
}

describe('the journal contract proves itself', () => {
  test('every requirement of the manifest has a check, and every check a requirement', () => {
    expect(Object.keys(JOURNAL_CHECKS).sort()).toEqual(JOURNAL_REQUIREMENTS.map((r) => r.id).sort())
  })

  test('an unknown requirement id throws', async () => {
    await expect(runJournalRequirement('no.such' as JournalRequirementId, honest)).rejects.toThrow(
      /unknown journal requirement/,
    )
  })

  test('a fixture without connect or reopen skips exactly the requirements that need them, with the reason', async () => {
    const bare: JournalFixtureFactory = async () => ({ journal: memoryJournal(), cleanup: async () => {} })
    const skipped = []
    for (const requirement of JOURNAL_REQUIREMENTS) {
      const { skipped: reason } = await runJournalRequirement(requirement.id, bare)
      if (reason !== undefined) skipped.push(requirement.id)
    }
    expect(skipped.sort()).toEqual(
      JOURNAL_REQUIREMENTS.filter((r) => 'needs' in r)
        .map((r) => r.id)
        .sort(),
    )
  })

  for (const [name, { breaks, factory }] of Object.entries(brokenJournals)) {
    test(`a journal with ${name} fails ${breaks.join(', ')} and the honest one passes them`, async () => {
      for (const id of breaks) {
        await expect(runJournalRequirement(id, factory), id).rejects.toThrow()
        await expect(runJournalRequirement(id, honest), id).resolves.toEqual({})
      }
    })
  }

  test('the public surface of @capsule/contract-tests/journal is exactly these exports', () => {
    expect(Object.keys(journalContract).sort()).toEqual([
      'JOURNAL_CHECKS',
      'JOURNAL_REQUIREMENTS',
      'describeJournalContract',
      'runJournalRequirement',
    ])
  })
})

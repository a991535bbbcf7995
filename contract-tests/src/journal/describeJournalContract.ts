import type { Journal } from '@capsule/core'
import { describe, test } from 'vitest'
import type { JournalCheckContext } from './journalCheckContext.js'
import { JOURNAL_CHECKS } from './journalChecks.js'
import type { JournalContractOptions, JournalFixture, JournalFixtureFactory } from './journalFixture.js'
import {
  JOURNAL_REQUIREMENTS,
  type JournalRequirement,
  type JournalRequirementId,
} from './journalRequirements.js'

const DEFAULT_TIMEOUT_MS = 30_000

/** Why a fixture cannot exercise a requirement, or undefined when it can. */
export function missingNeed(requirement: JournalRequirement, fixture: JournalFixture): string | undefined {
  switch (requirement.needs) {
    case 'connect':
      return fixture.connect ? undefined : 'the fixture cannot connect a second instance to the same storage'
    case 'reopen':
      return fixture.reopen
        ? undefined
        : 'the fixture cannot reopen its storage (it does not outlive the instance)'
    case 'newer-schema':
      return fixture.simulateNewerSchema && fixture.reopen
        ? undefined
        : 'the fixture cannot make its storage read as a newer schema version'
    default:
      return undefined
  }
}

/**
 * Runs one requirement's check against a fresh fixture: opens the journal, checks, then closes every
 * instance it opened and cleans the fixture up. Resolves with the skip reason when the fixture lacks what
 * the requirement needs; rejects when the journal breaks the requirement. `describeJournalContract` calls
 * it once per requirement; call it directly to prove a broken journal fails.
 */
export async function runJournalRequirement(
  id: JournalRequirementId,
  factory: JournalFixtureFactory,
): Promise<{ skipped?: string }> {
  const requirement = JOURNAL_REQUIREMENTS.find((candidate) => candidate.id === id)
  if (!requirement) throw new TypeError(`unknown journal requirement ${JSON.stringify(id)}`)
  const fixture = await factory()
  const opened: Journal[] = [fixture.journal]
  try {
    const skipped = missingNeed(requirement, fixture)
    if (skipped !== undefined) return { skipped }
    await fixture.journal.open()
    const context: JournalCheckContext = {
      journal: fixture.journal,
      fixture,
      async connect() {
        if (!fixture.connect) throw new Error('the fixture cannot connect')
        const instance = await fixture.connect()
        opened.push(instance)
        await instance.open()
        return instance
      },
    }
    await JOURNAL_CHECKS[id](context)
    return {}
  } finally {
    for (const instance of opened) await instance.close().catch(() => {})
    await fixture.cleanup()
  }
}

/**
 * Registers the journal contract as a vitest `describe` block: one test per requirement of
 * {@link JOURNAL_REQUIREMENTS}, named `[id] sentence`, each on a fresh fixture from `factory`. A
 * requirement whose `needs` the fixture lacks is marked skipped at run time with the reason; with
 * `options.unavailable`, every requirement is registered as skipped with that reason.
 *
 * ```ts
 * describeJournalContract('my journal', async () => {
 *   const dir = await mkdtemp(path.join(tmpdir(), 'journal-'))
 *   return { journal: myJournal({ dir }), reopen: …, connect: …, cleanup: () => rm(dir, { recursive: true }) }
 * })
 * ```
 */
export function describeJournalContract(
  name: string,
  factory: JournalFixtureFactory,
  options: JournalContractOptions = {},
): void {
  describe(`journal contract: ${name}`, () => {
    for (const requirement of JOURNAL_REQUIREMENTS) {
      const title = `[${requirement.id}] ${requirement.sentence}`
      if (options.unavailable !== undefined) {
        test.skip(`${title} — skipped: ${options.unavailable}`, () => {})
        continue
      }
      test(
        title,
        async (context) => {
          const { skipped } = await runJournalRequirement(requirement.id, factory)
          if (skipped !== undefined) context.skip(skipped)
        },
        options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      )
    }
  })
}

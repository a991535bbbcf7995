// Public API of @capsule/contract-tests/journal: the contract every Journal implementation must pass.
// Use it inside a vitest test file: `describeJournalContract('name', async () => fixture)`.

export { describeJournalContract, runJournalRequirement } from './describeJournalContract.js'
export type { JournalCheck, JournalCheckContext } from './journalCheckContext.js'
export { JOURNAL_CHECKS } from './journalChecks.js'
export type { JournalContractOptions, JournalFixture, JournalFixtureFactory } from './journalFixture.js'
export type {
  JournalRequirement,
  JournalRequirementId,
  JournalRequirementNeed,
} from './journalRequirements.js'
export { JOURNAL_REQUIREMENTS } from './journalRequirements.js'

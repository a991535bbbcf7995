import { durabilityChecks } from './durabilityChecks.js'
import { executionChecks } from './executionChecks.js'
import type { JournalCheck } from './journalCheckContext.js'
import type { JournalRequirementId } from './journalRequirements.js'
import { promiseChecks } from './promiseChecks.js'
import { sessionChecks } from './sessionChecks.js'

/**
 * The check of every journal requirement, by id. Typed against the manifest both ways: a requirement
 * without a check, or a check without a requirement, does not compile.
 */
export const JOURNAL_CHECKS: Readonly<Record<JournalRequirementId, JournalCheck>> = {
  ...sessionChecks,
  ...executionChecks,
  ...promiseChecks,
  ...durabilityChecks,
} satisfies Record<JournalRequirementId, JournalCheck>

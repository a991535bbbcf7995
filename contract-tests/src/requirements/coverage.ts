import type { ContractContext } from '../contractContext.js'
import { getRequirement, REQUIREMENTS } from '../requirements.js'
import { registeredRequirements, verifies } from '../verifies.js'
import { assertNoProblems } from './requirementHelpers.js'

/**
 * Registers `contract.coverage`, last: every requirement of the manifest was registered since `first`
 * (the registration count when this provider's contract began), only requirements with a `needs` were
 * skipped, and no skip lacks the declaration it needs (the families' `coverageProblems`).
 */
export function registerCoverageRequirement(contract: ContractContext, first: number): void {
  let end = 0
  verifies('contract.coverage', 'provider: every requirement was verified or skipped with a reason', () => {
    const mine = registeredRequirements().slice(first, end)
    const registered = new Set(mine.map((registration) => registration.id))
    const missing = REQUIREMENTS.filter((requirement) => !registered.has(requirement.id)).map((r) => r.id)
    const wronglySkipped = mine.filter(
      (registration) => registration.skipped !== undefined && !getRequirement(registration.id).needs,
    )
    assertNoProblems([
      ...missing.map((id) => `${id} has no test`),
      ...wronglySkipped.map((r) => `${r.id} may not be skipped (${r.title})`),
      ...contract.coverageProblems.flatMap((problems) => problems()),
    ])
  })
  end = registeredRequirements().length
}

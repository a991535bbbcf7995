import { test } from 'vitest'
import { getRequirement, type RequirementId } from './requirements.js'

/** One test registered for a requirement: its id, its title, and the skip reason if it was skipped. */
export interface RequirementRegistration {
  readonly id: RequirementId
  readonly title: string
  /** Why the requirement was not exercised; undefined when a real test was registered. */
  readonly skipped?: string
}

// Registrations of this test file, in order. Vitest collects every describe before it runs any test,
// so a final test can look at everything its describe registered.
const registrations: RequirementRegistration[] = []

/** The vitest name of a requirement's test: `[id] title`. */
export function requirementTestName(id: RequirementId, title: string): string {
  return `[${id}] ${title}`
}

/**
 * Registers a vitest test named `[id] title` that verifies requirement `id` of the contract manifest.
 * An id that is not in {@link REQUIREMENTS} throws here, at registration, so coverage cannot silently
 * drop when a requirement is renamed or mistyped.
 */
export function verifies(
  id: RequirementId,
  title: string,
  fn: () => unknown | Promise<unknown>,
  timeout?: number,
): void {
  getRequirement(id)
  registrations.push({ id, title })
  test(
    requirementTestName(id, title),
    async () => {
      await fn()
    },
    timeout,
  )
}

/**
 * Registers requirement `id` as explicitly skipped, with the reason in the test name
 * (`[id] title — skipped: reason`). Only requirements with a `needs` may be skipped: the coverage
 * check of `runProviderContract` fails on any other. Throws for an unknown id or an empty reason.
 */
export function skipsRequirement(id: RequirementId, title: string, reason: string): void {
  getRequirement(id)
  if (typeof reason !== 'string' || reason.trim() === '') {
    throw new TypeError(`skipping ${id} needs a reason`)
  }
  registrations.push({ id, title, skipped: reason })
  test.skip(`${requirementTestName(id, title)} — skipped: ${reason}`, () => {})
}

/** Every requirement registration of this test file so far, in order (a copy). */
export function registeredRequirements(): RequirementRegistration[] {
  return [...registrations]
}

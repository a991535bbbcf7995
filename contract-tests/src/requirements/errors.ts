import { isCapabilityError, isCapabilityErrorCode } from '@capsule/provider-sdk'
import { resolveArgs } from '../capabilityCaller.js'
import type { ContractContext } from '../contractContext.js'
import { skipsRequirement, verifies } from '../verifies.js'
import { assertNoProblems, describeThrown, errorOf } from './requirementHelpers.js'

/** Registers `errors.codes` per capability: deliberate failures are CapabilityErrors with documented codes. */
export function registerErrorRequirements(contract: ContractContext): void {
  for (const [name, fixture] of contract.capabilities) {
    const failures = [
      ...(fixture.denied ? [{ label: 'the denied call', args: fixture.denied, code: undefined }] : []),
      ...(fixture.errors ?? []).map((error, index) => ({
        label: `errors[${index}]`,
        args: error.args,
        code: error.code,
      })),
    ]
    if (failures.length === 0) {
      skipsRequirement(
        'errors.codes',
        `${name}: failures carry documented codes`,
        'the fixture declares no failing call (denied or errors)',
      )
      continue
    }
    verifies(
      'errors.codes',
      `${name}: calls that fail on purpose throw CapabilityErrors with documented codes`,
      async () => {
        const problems: string[] = []
        for (const failure of failures) {
          const error = await errorOf(contract.call(name, await resolveArgs(failure.args)))
          if (error === undefined) problems.push(`${failure.label} succeeded`)
          else if (!isCapabilityError(error) || !isCapabilityErrorCode(error.code))
            problems.push(`${failure.label} threw ${describeThrown(error)}, not a CapabilityError`)
          else if (failure.code !== undefined && error.code !== failure.code)
            problems.push(`${failure.label} failed with ${error.code}, not ${failure.code}`)
        }
        assertNoProblems(problems)
      },
    )
  }
}

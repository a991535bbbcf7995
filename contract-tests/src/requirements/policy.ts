import { type CapabilityError, isCapabilityError } from '@capsule/provider-sdk'
import { expect } from 'vitest'
import { resolveArgs } from '../capabilityCaller.js'
import type { ContractContext } from '../contractContext.js'
import { skipsRequirement, verifies } from '../verifies.js'
import { assertNoProblems, describeThrown, E2E_TEST_TIMEOUT_MS, errorOf } from './requirementHelpers.js'

/**
 * Registers the requirements on refusals: `policy.denied-has-no-effect` for the provider and, per
 * capability, `policy.denied-by-rules`.
 */
export function registerPolicyRequirements(contract: ContractContext): void {
  verifies(
    'policy.denied-has-no-effect',
    'provider: calls the policy does not grant never reach a handler, and denied calls change nothing',
    async () => {
      // Arguments first: a fixture function may create what its call consumes, which is not an effect.
      const denied = await Promise.all(
        contract.capabilities.flatMap(([name, fixture]) =>
          fixture.denied ? [resolveArgs(fixture.denied).then((args) => ({ name, args }))] : [],
        ),
      )
      const forged = await Promise.all(
        contract.capabilities.map(async ([name, fixture]) => ({
          capability: contract.idOf(name),
          args: await resolveArgs(fixture.valid),
        })),
      )
      const before = await contract.fixtures.snapshot?.()
      const problems: string[] = []
      for (const { name, args } of denied) {
        if ((await errorOf(contract.call(name, args))) === undefined)
          problems.push(`${name}: the denied call succeeded`)
      }
      const { handlerCalls, deniedDecisions } = await contract.harness.forgeDeniedCalls(forged)
      if (handlerCalls > 0) problems.push(`${handlerCalls} forged call(s) reached a handler`)
      for (const { capability: id } of forged) {
        if (!deniedDecisions.includes(id)) problems.push(`no denied decision was audited for ${id}`)
      }
      assertNoProblems(problems)
      expect(await contract.fixtures.snapshot?.(), 'the observed state changed').toEqual(before)
    },
    E2E_TEST_TIMEOUT_MS,
  )

  for (const [name, fixture] of contract.capabilities) {
    const denied = fixture.denied
    if (!denied) {
      skipsRequirement(
        'policy.denied-by-rules',
        `${name}: refused calls are DENIED`,
        'the provider declares no call its rules refuse',
      )
      continue
    }
    verifies('policy.denied-by-rules', `${name}: a call its rules refuse fails with DENIED`, async () => {
      const error = await errorOf(contract.call(name, await resolveArgs(denied)))
      expect(error, 'the denied call succeeded').toBeDefined()
      expect(
        isCapabilityError(error),
        `the denied call threw ${describeThrown(error)}, not a CapabilityError`,
      ).toBe(true)
      expect((error as CapabilityError).code).toBe('DENIED')
    })
  }
}

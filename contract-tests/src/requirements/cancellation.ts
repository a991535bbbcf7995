import { setTimeout as delay } from 'node:timers/promises'
import { CapabilityError, isCapabilityError } from '@capsule/provider-sdk'
import { expect } from 'vitest'
import { resolveArgs } from '../capabilityCaller.js'
import type { ContractContext } from '../contractContext.js'
import { skipsRequirement, verifies } from '../verifies.js'
import { assertNoProblems, describeThrown, isReason } from './requirementHelpers.js'

/** How long a cancelled call may take to settle. */
export const CANCEL_SETTLE_MS = 1_000
/** How long a slow call runs before the contract aborts it. */
const SLOW_HEAD_START_MS = 100
/** How long resources of a settled call get to end (each end is awaited as an event). */
const RESOURCE_SETTLE_MS = 100

/**
 * Registers `cancel.abort-within-1s` per capability. A capability without a `slow` call is skipped only
 * with the fixture's `noSlowCall` reason; without one the skip is recorded as undeclared, and
 * `contract.coverage` fails.
 */
export function registerCancellationRequirements(contract: ContractContext): void {
  for (const [name, fixture] of contract.capabilities) {
    const slow = fixture.slow
    if (!slow) {
      const title = `${name}: aborting a slow call`
      if (isReason(fixture.noSlowCall)) {
        skipsRequirement('cancel.abort-within-1s', title, `no call can be slow: ${fixture.noSlowCall}`)
      } else {
        skipsRequirement(
          'cancel.abort-within-1s',
          title,
          'the fixture gives neither a slow call nor noSlowCall',
        )
        contract.coverageProblems.push(() => [
          `cancel.abort-within-1s was skipped for ${name} without a reason: give fixtures.capabilities.${name}.slow (a call that takes ≥ 2 s unless aborted) or noSlowCall (why no call can be slow)`,
        ])
      }
      continue
    }
    verifies(
      'cancel.abort-within-1s',
      `${name}: aborting a slow call settles it within 1 s with CANCELLED and leaves nothing running`,
      async () => {
        const controller = new AbortController()
        const { call, result } = contract.watchedCall(name, await resolveArgs(slow), controller.signal)
        let outcome: { ok: true } | { ok: false; error: unknown } | undefined
        const settled = result.then(
          () => {
            outcome = { ok: true }
          },
          (error: unknown) => {
            outcome = { ok: false, error }
          },
        )
        await delay(SLOW_HEAD_START_MS)
        expect(
          outcome,
          `the slow call settled within ${SLOW_HEAD_START_MS} ms; a slow call must take ≥ 2 s`,
        ).toBeUndefined()
        controller.abort(new CapabilityError('CANCELLED', 'the contract aborted the call'))
        const timer = new AbortController()
        const inTime = await Promise.race([
          settled.then(() => true),
          delay(CANCEL_SETTLE_MS, false, { signal: timer.signal }).catch(() => false),
        ])
        timer.abort()
        expect(inTime, `the call did not settle within ${CANCEL_SETTLE_MS} ms of the abort`).toBe(true)
        expect(outcome?.ok, 'the aborted call resolved instead of failing with CANCELLED').toBe(false)
        const error = outcome && !outcome.ok ? outcome.error : undefined
        expect(
          isCapabilityError(error),
          `the aborted call threw ${describeThrown(error)}, not a CapabilityError`,
        ).toBe(true)
        expect((error as CapabilityError).code).toBe('CANCELLED')
        await contract.watch.settle([call], { callsMs: 0, resourcesMs: RESOURCE_SETTLE_MS })
        const { working } = contract.watch.leftovers(call)
        assertNoProblems(
          working.length > 0 ? [`work left running after the call settled: ${working.join(', ')}`] : [],
        )
      },
    )
  }
}

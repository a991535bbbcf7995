import { resolveArgs } from '../capabilityCaller.js'
import type { ContractContext } from '../contractContext.js'
import { verifies } from '../verifies.js'
import { assertNoProblems, describeThrown } from './requirementHelpers.js'

/** How many valid calls run at once in `concurrency.fifty-calls`. */
const CONCURRENT_CALLS = 50

/** Registers `concurrency.fifty-calls` per capability: fifty concurrent valid calls all succeed. */
export function registerConcurrencyRequirements(contract: ContractContext): void {
  for (const [name, fixture] of contract.capabilities) {
    verifies(
      'concurrency.fifty-calls',
      `${name}: ${CONCURRENT_CALLS} concurrent valid calls all succeed`,
      async () => {
        const argsList = await Promise.all(
          Array.from({ length: CONCURRENT_CALLS }, () => resolveArgs(fixture.valid)),
        )
        const results = await Promise.allSettled(argsList.map((args) => contract.call(name, args)))
        assertNoProblems(
          results.flatMap((result, index) =>
            result.status === 'rejected' ? [`call ${index}: ${describeThrown(result.reason)}`] : [],
          ),
        )
      },
    )
  }
}

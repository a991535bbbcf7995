import { afterAll, beforeAll, describe } from 'vitest'
import { ContractContext } from './contractContext.js'
import type { ProviderContractOptions, ProviderFixtures, ProviderSource } from './providerFixtures.js'
import { registerAuditRequirements } from './requirements/audit.js'
import { registerCancellationRequirements } from './requirements/cancellation.js'
import { registerConcurrencyRequirements } from './requirements/concurrency.js'
import { registerCoverageRequirement } from './requirements/coverage.js'
import { registerErrorRequirements } from './requirements/errors.js'
import { registerLeakRequirements } from './requirements/leaks.js'
import { registerMetaRequirements } from './requirements/meta.js'
import { registerPolicyRequirements } from './requirements/policy.js'
import { registerProgressRequirements } from './requirements/progress.js'
import { registerPythonRequirements } from './requirements/python.js'
import { E2E_TEST_TIMEOUT_MS } from './requirements/requirementHelpers.js'
import { registerSchemaRequirements } from './requirements/schema.js'
import { registeredRequirements } from './verifies.js'

/**
 * Registers the provider contract as a vitest `describe` block: one test per requirement of
 * `REQUIREMENTS` (per capability where it applies), named `[id] scope: title`, and a final
 * `contract.coverage` test that fails unless every requirement was registered. Call it at the top level
 * of a test file. The provider (or the function that builds it) is resolved after `fixtures.setup`.
 *
 * Unit requirements call the handlers directly with a real AbortController-backed context; the `e2e`
 * ones go through real Capsules and the real Python worker (`sandbox: 'none'` unless the fixtures say
 * otherwise). After every test, what its handler invocations left running is checked (the `leaks.*`
 * requirements). Requirements with a `needs` are registered as skipped, with the reason, when a fixture
 * cannot exercise them; all others always run.
 */
export function runProviderContract(
  source: ProviderSource,
  fixtures: ProviderFixtures,
  options: ProviderContractOptions = {},
): void {
  const title =
    options.title ??
    (typeof source === 'function' ? 'provider contract' : `provider contract: ${source.name}`)
  describe(title, () => {
    const first = registeredRequirements().length
    const contract = new ContractContext(source, fixtures, options)
    beforeAll(() => contract.open(), E2E_TEST_TIMEOUT_MS)
    afterAll(() => contract.close(), E2E_TEST_TIMEOUT_MS)

    registerMetaRequirements(contract)
    registerSchemaRequirements(contract)
    registerErrorRequirements(contract)
    registerPolicyRequirements(contract)
    registerCancellationRequirements(contract)
    registerConcurrencyRequirements(contract)
    registerPythonRequirements(contract)
    registerProgressRequirements(contract)
    registerAuditRequirements(contract)
    // Last but coverage: its tests report what every earlier test left behind, then dispose the provider.
    registerLeakRequirements(contract)
    registerCoverageRequirement(contract, first)
  })
}

// Public API of @capsule/contract-tests. Anything exported here is public: add intentionally.
// Use it inside a vitest test file: `runProviderContract(myProvider(...), fixtures)`.

// Calls a handler directly with a real context, as the contract's unit requirements do.
export { callHandler, createCapabilityContext } from './capabilityCaller.js'
// Derives schema-invalid arguments from valid ones.
export { deriveInvalidArgs } from './deriveInvalidArgs.js'
export type {
  ArgsFixture,
  CallArgs,
  CapabilityFixture,
  ErrorCaseFixture,
  ProviderContractOptions,
  ProviderFixtures,
  ProviderSource,
} from './providerFixtures.js'
// How long an aborted call may take to settle.
export { CANCEL_SETTLE_MS } from './requirements/cancellation.js'
export type { Requirement, RequirementId, RequirementNeed } from './requirements.js'
// The manifest of requirements every provider must meet, and helpers to look them up.
export { getRequirement, isRequirementId, REQUIREMENTS } from './requirements.js'
// Registers the whole contract for one provider.
export { runProviderContract } from './runProviderContract.js'
// Writes JavaScript values as Python source, for fixtures and harnesses.
export { toPythonLiteral } from './toPythonLiteral.js'
export type { RequirementRegistration } from './verifies.js'
// `verifies(id, title, fn)` registers a test for one requirement; unknown ids throw at registration.
export { registeredRequirements, requirementTestName, skipsRequirement, verifies } from './verifies.js'

// Public API of @capsule/provider-sdk. Anything exported here is public: add intentionally.
// Keep this package tiny: it must not depend on @capsule/core, child_process or undici.
export { BINARY_FORMAT, binary } from './binary.js'
export type { CapabilityContext, CapabilityLogger, CapabilityProgress } from './capabilityContext.js'
export { whenCancelled } from './capabilityContext.js'
export type { CapabilityErrorCode, CapabilityErrorOptions } from './capabilityError.js'
export {
  CAPABILITY_ERROR_CODES,
  CapabilityError,
  isCapabilityError,
  isCapabilityErrorCode,
} from './capabilityError.js'
export type {
  AnyCapabilityDefinition,
  CapabilityAnnotations,
  CapabilityDefinition,
  PythonResultWrapper,
} from './defineCapability.js'
export { CAPABILITY_NAME_PATTERN, defineCapability } from './defineCapability.js'
export type { ProviderDefinition } from './defineProvider.js'
export { defineProvider, SEMVER_PATTERN } from './defineProvider.js'
export { DEFAULT_HIDDEN_PATTERNS } from './hiddenPathPatterns.js'
export type { ParseProviderOptionsSettings } from './parseProviderOptions.js'
export { parseProviderOptions } from './parseProviderOptions.js'
export type {
  ProviderDefinitionErrorCode,
  ProviderDefinitionErrorOptions,
} from './providerDefinitionError.js'
export { ProviderDefinitionError } from './providerDefinitionError.js'
export type { SecurityLevel } from './securityLevel.js'
export { compareLevels, isSecurityLevel, SECURITY_LEVELS } from './securityLevel.js'
export type { ZodIssueContext, ZodIssueReport } from './zodIssue.js'
export { explainZodIssue, formatIssuePath, formatZodIssue } from './zodIssue.js'

/**
 * Thrown when a provider or capability definition is malformed (a bad name, a missing handler).
 * It is a programming error caught at definition time, not a call failure.
 */
export class ProviderDefinitionError extends Error {
  override readonly name = 'ProviderDefinitionError'
  readonly code = 'INVALID_DEFINITION'
}

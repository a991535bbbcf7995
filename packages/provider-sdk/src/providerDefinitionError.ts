import { CAPSULE_ERROR_BRAND, hasBrand, PROVIDER_DEFINITION_ERROR_BRAND } from './errorBrands.js'

/** The codes a {@link ProviderDefinitionError} carries: the part of core's CapsuleError table it uses. */
export type ProviderDefinitionErrorCode = 'INVALID_PROVIDER' | 'INVALID_OPTIONS'

/** Options for {@link ProviderDefinitionError}. */
export interface ProviderDefinitionErrorOptions {
  /** `INVALID_PROVIDER` (default) for a malformed definition, `INVALID_OPTIONS` for a factory's bad option. */
  code?: ProviderDefinitionErrorCode
  cause?: unknown
  /** Machine-readable facts: the option's path, the value given. */
  details?: Record<string, unknown>
}

/**
 * Thrown when a provider or capability definition is malformed (a bad name, a missing handler) or a
 * provider factory gets a bad option. It is a programming error caught at start-up, not a call failure.
 * It is a CapsuleError in all but its class: the same `name`, a `code` from core's table and core's
 * brand, so `instanceof CapsuleError` and `isCapsuleError()` from @capsule/core accept it and one
 * `catch` serves start-up. This package cannot import core (providers depend on it), hence the class.
 */
export class ProviderDefinitionError extends Error {
  override readonly name = 'CapsuleError'
  readonly code: ProviderDefinitionErrorCode
  readonly details: Record<string, unknown>
  readonly [CAPSULE_ERROR_BRAND] = true
  readonly [PROVIDER_DEFINITION_ERROR_BRAND] = true

  constructor(message: string, options: ProviderDefinitionErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = options.code ?? 'INVALID_PROVIDER'
    this.details = options.details ?? {}
  }

  // By brand, not prototype: one from a second copy of this package is a ProviderDefinitionError too.
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class `instanceof` asks about, maybe a subclass
    if (this !== ProviderDefinitionError) return Function.prototype[Symbol.hasInstance].call(this, value)
    return hasBrand(value, PROVIDER_DEFINITION_ERROR_BRAND)
  }
}

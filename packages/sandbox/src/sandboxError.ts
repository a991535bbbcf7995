/** The codes a {@link SandboxError} carries: the part of @capsule/core's CapsuleError table the sandbox uses. */
export type SandboxErrorCode = 'INVALID_OPTIONS' | 'SANDBOX_UNAVAILABLE'

/**
 * The brand @capsule/core's CapsuleError recognises (a registered symbol, so copies of either package
 * loaded twice still agree).
 */
export const CAPSULE_ERROR_BRAND: unique symbol = Symbol.for('capsule.error') as never

// Its own brand, so `instanceof SandboxError` holds across copies of this package too.
const SANDBOX_ERROR_BRAND: unique symbol = Symbol.for('capsule.sandbox-error') as never

/** Options for {@link SandboxError}. */
export interface SandboxErrorOptions {
  cause?: unknown
  /** Machine-readable facts: a path, a uid, a probe's reason. */
  details?: Record<string, unknown>
}

/**
 * The error of @capsule/sandbox. It is a CapsuleError in all but its class: the same `name`, a code from
 * the same table, and the brand, so `isCapsuleError()` and `instanceof CapsuleError` from @capsule/core
 * accept it. This package cannot import core (providers use it too), hence the separate class.
 */
export class SandboxError extends Error {
  override readonly name = 'CapsuleError'
  readonly code: SandboxErrorCode
  readonly details: Record<string, unknown>
  readonly [CAPSULE_ERROR_BRAND] = true
  readonly [SANDBOX_ERROR_BRAND] = true

  constructor(code: SandboxErrorCode, message: string, options: SandboxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.details = options.details ?? {}
  }

  // By brand, not prototype (as CapsuleError does).
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class `instanceof` asks about, maybe a subclass
    if (this !== SandboxError) return Function.prototype[Symbol.hasInstance].call(this, value)
    return typeof value === 'object' && value !== null && SANDBOX_ERROR_BRAND in value
  }
}

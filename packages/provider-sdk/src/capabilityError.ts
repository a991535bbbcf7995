import { CAPABILITY_ERROR_BRAND, hasBrand } from './errorBrands.js'

/**
 * The stable codes a capability call can fail with. Python maps them to exceptions:
 * DENIED → CapabilityDenied, INVALID_ARGUMENT → InvalidArguments, TIMEOUT → CapabilityTimeout,
 * everything else → CapabilityError with `.code`.
 */
export const CAPABILITY_ERROR_CODES = [
  'DENIED',
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'TIMEOUT',
  'CANCELLED',
  'LIMIT_EXCEEDED',
  'UNAVAILABLE',
  'CONFLICT',
  'REPLAY_DIVERGED',
  'INTERNAL',
] as const

/** One of {@link CAPABILITY_ERROR_CODES}. */
export type CapabilityErrorCode = (typeof CAPABILITY_ERROR_CODES)[number]

/** Options for {@link CapabilityError}. */
export interface CapabilityErrorOptions {
  /** The underlying error. Kept on the host (audit), never sent to Python. */
  cause?: unknown
  /** Plain JSON-safe facts Python may see (e.g. `{ status: 404 }`). */
  details?: Record<string, unknown>
}

/**
 * The error a capability handler throws to fail a call on purpose. Its `message` is safe to show the
 * Python code; anything else a handler throws becomes `INTERNAL` with the detail kept on the host.
 */
export class CapabilityError extends Error {
  override readonly name = 'CapabilityError'
  readonly code: CapabilityErrorCode
  readonly details: Record<string, unknown> | undefined
  readonly [CAPABILITY_ERROR_BRAND] = true

  constructor(code: CapabilityErrorCode, message: string, options: CapabilityErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    if (!isCapabilityErrorCode(code)) throw new TypeError(`unknown capability error code: ${String(code)}`)
    this.code = code
    this.details = options.details
  }

  // By brand, not prototype: a CapabilityError from a second copy of this package is one too.
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class `instanceof` asks about, maybe a subclass
    if (this !== CapabilityError) return Function.prototype[Symbol.hasInstance].call(this, value)
    return hasBrand(value, CAPABILITY_ERROR_BRAND)
  }
}

/** Whether `value` is one of the stable capability error codes. */
export function isCapabilityErrorCode(value: unknown): value is CapabilityErrorCode {
  return typeof value === 'string' && (CAPABILITY_ERROR_CODES as readonly string[]).includes(value)
}

/**
 * Whether `value` is a CapabilityError, from this copy of the package or another (by its brand). An
 * error of a copy older than the brand is matched by its name and code.
 */
export function isCapabilityError(value: unknown): value is CapabilityError {
  if (value instanceof CapabilityError) return true
  return (
    value instanceof Error &&
    value.name === 'CapabilityError' &&
    isCapabilityErrorCode((value as { code?: unknown }).code)
  )
}

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

  constructor(code: CapabilityErrorCode, message: string, options: CapabilityErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    if (!isCapabilityErrorCode(code)) throw new TypeError(`unknown capability error code: ${String(code)}`)
    this.code = code
    this.details = options.details
  }
}

/** Whether `value` is one of the stable capability error codes. */
export function isCapabilityErrorCode(value: unknown): value is CapabilityErrorCode {
  return typeof value === 'string' && (CAPABILITY_ERROR_CODES as readonly string[]).includes(value)
}

/**
 * Whether `value` is a CapabilityError. Matches by shape too, so an error from another copy of this
 * package (two versions installed side by side) is still recognised.
 */
export function isCapabilityError(value: unknown): value is CapabilityError {
  if (value instanceof CapabilityError) return true
  return (
    value instanceof Error &&
    value.name === 'CapabilityError' &&
    isCapabilityErrorCode((value as { code?: unknown }).code)
  )
}

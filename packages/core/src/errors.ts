import { CAPSULE_ERROR_BRAND } from '@capsule/sandbox'

/**
 * Every code a CapsuleError can carry. Users match on `code`; docs/errors.md explains each one.
 */
export const CAPSULE_ERROR_CODES = [
  'INVALID_OPTIONS',
  'INVALID_ARGUMENT',
  'INVALID_PROVIDER',
  'PYTHON_NOT_FOUND',
  'PYTHON_UNSUPPORTED',
  'WORKER_START_FAILED',
  'WORKER_EXITED',
  'WORKER_UNRESPONSIVE',
  'PROTOCOL_ERROR',
  'PROTOCOL_MISMATCH',
  'SANDBOX_UNAVAILABLE',
  'SESSION_BUSY',
  'SESSION_CLOSED',
  'CAPSULE_CLOSED',
  'UNKNOWN_PROMISE',
  'CANCELLED',
  'TIMEOUT',
  'LIMIT_EXCEEDED',
  'JOURNAL_UNAVAILABLE',
  'JOURNAL_VERSION',
  'JOURNAL_CORRUPT',
  'LEASE_LOST',
  'CONFLICT',
  'UNKNOWN_RECORD',
  'REPLAY_DIVERGED',
  'CHECKPOINT_INVALID',
] as const

/** One of {@link CAPSULE_ERROR_CODES}. */
export type CapsuleErrorCode = (typeof CAPSULE_ERROR_CODES)[number]

/** Options for {@link CapsuleError}. */
export interface CapsuleErrorOptions {
  cause?: unknown
  /** Machine-readable facts: an exit code, a frame type, a limit. */
  details?: Record<string, unknown>
}

/**
 * The one error class of @capsule/core: a stable string `code`, a human message and an optional cause.
 * A Python exception raised by user code is not a CapsuleError: it arrives as data in the
 * execution result (`result.error`).
 */
export class CapsuleError extends Error {
  override readonly name = 'CapsuleError'
  readonly code: CapsuleErrorCode
  readonly details: Record<string, unknown>
  readonly [CAPSULE_ERROR_BRAND] = true

  constructor(code: CapsuleErrorCode, message: string, options: CapsuleErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.details = options.details ?? {}
  }

  // By brand, not prototype: a second copy of core, and @capsule/sandbox's SandboxError, are recognised too.
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class `instanceof` asks about, maybe a subclass
    if (this !== CapsuleError) return Function.prototype[Symbol.hasInstance].call(this, value)
    return typeof value === 'object' && value !== null && CAPSULE_ERROR_BRAND in value
  }
}

/** Whether `error` is a CapsuleError, optionally with the given code. */
export function isCapsuleError(error: unknown, code?: CapsuleErrorCode): error is CapsuleError {
  return error instanceof CapsuleError && (code === undefined || error.code === code)
}

import { CapabilityError } from '@capsule/provider-sdk'

/** Longest user path quoted back in an error message; longer ones are cut so messages stay readable. */
const MAX_QUOTED_PATH_CHARS = 200

/** Quotes a user-facing path for an error message (never a host path). */
export function quote(displayPath: string): string {
  const cut =
    displayPath.length > MAX_QUOTED_PATH_CHARS
      ? `${displayPath.slice(0, MAX_QUOTED_PATH_CHARS)}…`
      : displayPath
  return JSON.stringify(cut)
}

/** Builds the `DENIED` error every refusal uses; `details` names the rule and option for rule refusals. */
export function denied(message: string, cause?: unknown, details?: Record<string, string>): CapabilityError {
  return new CapabilityError('DENIED', message, {
    ...(cause === undefined ? {} : { cause }),
    ...(details === undefined ? {} : { details }),
  })
}

/** Throws `CANCELLED` when the call's signal has fired; called between steps of every handler. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted)
    throw new CapabilityError('CANCELLED', 'the call was cancelled', { cause: signal.reason })
}

/** The Node.js error code of `error`, if it has one (`ENOENT`, `ELOOP`, …). */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * Turns an operating-system error into a CapabilityError whose message names only the user's path.
 * The original error (with host paths in it) stays on the host as the cause. Errors that are already
 * CapabilityErrors pass through; unknown errno codes are rethrown unchanged, so the host reports them
 * as `INTERNAL` without showing Python the detail.
 */
export function toCapabilityError(error: unknown, displayPath: string): unknown {
  if (error instanceof CapabilityError) return error
  const where = quote(displayPath)
  const options = { cause: error }
  switch (errnoCode(error)) {
    case 'ENOENT':
      return new CapabilityError('NOT_FOUND', `no such file or directory: ${where}`, options)
    case 'ELOOP':
      return new CapabilityError('DENIED', `${where}: symbolic links are not followed`, options)
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new CapabilityError('DENIED', `${where}: permission denied by the operating system`, options)
    case 'ENXIO':
      return new CapabilityError('DENIED', `${where} is not a regular file`, options)
    case 'ENOTDIR':
      return new CapabilityError(
        'INVALID_ARGUMENT',
        `${where}: a component of the path is not a directory`,
        options,
      )
    case 'EISDIR':
      return new CapabilityError('INVALID_ARGUMENT', `${where} is a directory`, options)
    case 'ENAMETOOLONG':
      return new CapabilityError('INVALID_ARGUMENT', `${where}: a file name is too long`, options)
    case 'EEXIST':
      return new CapabilityError('CONFLICT', `${where} already exists`, options)
    case 'ENOTEMPTY':
      return new CapabilityError('CONFLICT', `${where} is a directory that is not empty`, options)
    case 'EFBIG':
    case 'ENOSPC':
    case 'EDQUOT':
      return new CapabilityError('LIMIT_EXCEEDED', `${where}: no space left for the write`, options)
    default:
      return error
  }
}

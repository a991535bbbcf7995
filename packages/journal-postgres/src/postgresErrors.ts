import { CapsuleError, isCapsuleError } from '@capsule/core'

// SQLSTATE classes that mean the server cannot be used right now: connection exceptions, insufficient
// resources, operator intervention (shutdown, crash), system errors.
const UNAVAILABLE_CLASSES = ['08', '53', '57', '58', 'XX']

/**
 * Turns what pg throws into the journal's codes. Every failure to reach or use the server is
 * JOURNAL_UNAVAILABLE (fail closed: the caller must not run what it could not record); CapsuleErrors pass
 * through; `details.sqlState` carries the server's code when there is one.
 */
export function mapPostgresError(error: unknown, where: string): Error {
  if (isCapsuleError(error)) return error
  const code = (error as { code?: unknown })?.code
  const sqlState = typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
  const message = error instanceof Error ? error.message : String(error)
  const reason =
    sqlState === undefined || UNAVAILABLE_CLASSES.includes(sqlState.slice(0, 2))
      ? 'unreachable'
      : 'server-error'
  return new CapsuleError('JOURNAL_UNAVAILABLE', `the PostgreSQL journal (${where}) failed: ${message}`, {
    cause: error,
    details: {
      reason,
      ...(sqlState ? { sqlState } : {}),
      ...(typeof code === 'string' && !sqlState ? { errno: code } : {}),
    },
  })
}

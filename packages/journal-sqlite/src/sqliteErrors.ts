import { CapsuleError, isCapsuleError } from '@capsule/core'

/**
 * Turns what better-sqlite3 throws into the journal's codes: a damaged or foreign file is JOURNAL_CORRUPT;
 * anything that stops the write (a lock held past the busy timeout, I/O errors, a full disk, a read-only
 * or vanished file) is JOURNAL_UNAVAILABLE, so the caller fails closed. CapsuleErrors pass through.
 */
export function mapSqliteError(error: unknown, path: string): Error {
  if (isCapsuleError(error)) return error
  const code =
    typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : undefined
  const message = error instanceof Error ? error.message : String(error)
  if (code === 'SQLITE_NOTADB' || code?.startsWith('SQLITE_CORRUPT')) {
    return new CapsuleError('JOURNAL_CORRUPT', `${path} is damaged or not a journal: ${message}`, {
      cause: error,
      details: { path, sqliteCode: code },
    })
  }
  return new CapsuleError('JOURNAL_UNAVAILABLE', `the SQLite journal ${path} failed: ${message}`, {
    cause: error,
    details: { path, ...(code ? { sqliteCode: code } : {}) },
  })
}

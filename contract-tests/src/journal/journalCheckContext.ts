import { randomUUID } from 'node:crypto'
import { type CapsuleErrorCode, isCapsuleError, type Journal, type Lease } from '@capsule/core'
import { expect } from 'vitest'
import type { JournalFixture } from './journalFixture.js'

/** What one requirement's check gets: the opened journal and the fixture it came from. */
export interface JournalCheckContext {
  readonly journal: Journal
  readonly fixture: JournalFixture
  /** Another instance on the same storage, closed after the check (only when the fixture can connect). */
  connect(): Promise<Journal>
}

/** The check of one requirement; it throws (an assertion) when the journal breaks the requirement. */
export type JournalCheck = (context: JournalCheckContext) => Promise<void>

/** How long a lease lasts in checks that do not test expiry. */
export const LONG_TTL_MS = 60_000

/** Asserts that `operation` rejects with a CapsuleError of `code`, and returns it. */
export async function expectCode(operation: Promise<unknown>, code: CapsuleErrorCode): Promise<Error> {
  let failure: unknown
  try {
    await operation
  } catch (error) {
    failure = error
  }
  expect(failure, `expected a CapsuleError ${code}`).toBeDefined()
  if (!isCapsuleError(failure, code)) {
    throw new Error(`expected a CapsuleError ${code}, got ${describeError(failure)}`, { cause: failure })
  }
  return failure
}

function describeError(error: unknown): string {
  if (isCapsuleError(error)) return `CapsuleError ${error.code}: ${error.message}`
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

/** A session key no other check uses. */
export function uniqueKey(prefix = 'session'): string {
  return `${prefix}-${randomUUID()}`
}

/** Creates a fresh session and claims its lease for `owner`. */
export async function sessionWithLease(
  journal: Journal,
  owner = 'host-a',
  ttlMs = LONG_TTL_MS,
): Promise<{ sessionKey: string; lease: Lease }> {
  const sessionKey = uniqueKey()
  await journal.ensureSession({ key: sessionKey, pythonHashSeed: 42, policyFingerprint: 'policy-1' })
  const lease = await journal.claimLease({ sessionKey, owner, ttlMs })
  if (lease === null) throw new Error('a fresh session could not be claimed')
  return { sessionKey, lease }
}

/** Submits `code` to the session and returns the execution id. */
export async function submit(journal: Journal, sessionKey: string, code = 'x = 1'): Promise<string> {
  const { record } = await journal.createExecution({ sessionKey, code, policyFingerprint: 'policy-1' })
  return record.id
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

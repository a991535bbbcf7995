import type { Journal } from '@capsule/core'

/**
 * One journal under test, on fresh storage, with what the backend can do beyond the interface. Optional
 * members unlock requirements that need them; without one, those requirements are skipped with the reason.
 */
export interface JournalFixture {
  /** A journal on fresh, empty storage (not opened yet: the suite opens it). */
  readonly journal: Journal
  /**
   * Another, independent journal instance on the same storage (a second connection, what another process
   * or host would open). The suite closes what it connects.
   */
  readonly connect?: () => Promise<Journal>
  /**
   * Closes `journal` and opens a new instance on the same storage. Its data must all be there.
   */
  readonly reopen?: () => Promise<Journal>
  /**
   * Changes the (closed) storage so it reads as written by a newer schema version than this code knows;
   * the next instance's `open()` must refuse it with JOURNAL_VERSION.
   */
  readonly simulateNewerSchema?: () => Promise<void>
  /** Removes the storage (temp files, a database schema). Called after every requirement. */
  readonly cleanup: () => Promise<void>
}

/** Builds a {@link JournalFixture} on fresh storage; called once per requirement. */
export type JournalFixtureFactory = () => Promise<JournalFixture>

/** Options of `describeJournalContract`. */
export interface JournalContractOptions {
  /**
   * When set, the backend is not available here (no server configured): every requirement is registered
   * as skipped with this reason, which shows in the test names.
   */
  readonly unavailable?: string
  /** Per-requirement timeout in ms (default 30 000). */
  readonly timeoutMs?: number
}

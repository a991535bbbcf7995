import { CapsuleError } from '../errors.js'
import type { FinalJournalState, JournalState, Settlement } from './journalRecords.js'
import { JOURNAL_STATES } from './journalRecords.js'
import { fromTaggedJson, toTaggedJson } from './taggedJson.js'

// How every backend stores a value: tagged JSON text in insertion order (see canonicalJson for the tags).
// One form for all backends, so a value reads back the same from memory, SQLite and PostgreSQL.

/** Encodes a value (a payload, a result, an error) as the text a journal stores. */
export function encodeJournalValue(value: unknown): string {
  return toTaggedJson(value, { sortKeys: false })
}

/** Decodes {@link encodeJournalValue}'s text; JOURNAL_CORRUPT when the text is not its output. */
export function decodeJournalValue(text: string): unknown {
  return fromTaggedJson(text)
}

/** A settlement checked and encoded for storage: the final state and the text of its value or error. */
export interface EncodedSettlement {
  readonly state: FinalJournalState
  readonly outcome: string
}

/** Checks a settlement's shape (INVALID_ARGUMENT) and encodes its value or error. */
export function encodeSettlement(settlement: Settlement): EncodedSettlement {
  if (typeof settlement !== 'object' || settlement === null) {
    throw new CapsuleError('INVALID_ARGUMENT', 'a settlement must be { state, value } or { state, error }')
  }
  const { state } = settlement
  if (state === 'resolved') {
    if (!('value' in settlement))
      throw new CapsuleError('INVALID_ARGUMENT', 'a resolved settlement needs a value')
    return { state, outcome: encodeJournalValue(settlement.value) }
  }
  if (state === 'rejected' || state === 'rejected_canceled' || state === 'rejected_timedout') {
    if (!('error' in settlement))
      throw new CapsuleError('INVALID_ARGUMENT', `a ${state} settlement needs an error`)
    return { state, outcome: encodeJournalValue(settlement.error) }
  }
  throw new CapsuleError(
    'INVALID_ARGUMENT',
    `a settlement state must be resolved, rejected, rejected_canceled or rejected_timedout (got ${String(state)})`,
  )
}

/** The `value` and `error` fields of a record from its stored state and outcome text. */
export function decodeOutcome(
  state: JournalState,
  outcome: string | null,
): { value: unknown; error: unknown } {
  if (state === 'pending' || outcome === null) return { value: undefined, error: undefined }
  const decoded = decodeJournalValue(outcome)
  return state === 'resolved' ? { value: decoded, error: undefined } : { value: undefined, error: decoded }
}

/** Checks a stored state string (JOURNAL_CORRUPT when it is not a journal state). */
export function parseJournalState(state: unknown): JournalState {
  if (typeof state === 'string' && (JOURNAL_STATES as readonly string[]).includes(state))
    return state as JournalState
  throw new CapsuleError('JOURNAL_CORRUPT', `a stored record has the unknown state ${JSON.stringify(state)}`)
}

/**
 * What settling an already final record means: the same outcome again is a no-op; another is a CONFLICT
 * whose details carry the recorded state.
 */
export function checkResettle(
  what: string,
  recorded: { state: JournalState; outcome: string | null },
  requested: EncodedSettlement,
): void {
  if (recorded.state === requested.state && recorded.outcome === requested.outcome) return
  throw new CapsuleError('CONFLICT', `${what} is already ${recorded.state}`, {
    details: { recordedState: recorded.state, requestedState: requested.state },
  })
}

// The journal's public surface, re-exported by @capsule/core's index. The first group is for users; the
// second for journal implementations (the SQLite and PostgreSQL packages, third parties).

export { CallOrdinals, callKey, canonicalHash, canonicalJson, hashCode } from './canonicalHash.js'
export type {
  CallInit,
  CheckpointInit,
  ExecutionInit,
  HitlPromiseFilter,
  HitlPromiseInit,
  Journal,
  JournalInfo,
  JournalWaitOptions,
  LeaseClaim,
  SessionInit,
} from './journal.js'
export { journalErrors } from './journalErrors.js'
export type { JournalStore, JournalStoreBinding } from './journalFromStore.js'
export { journalFromStore } from './journalFromStore.js'
export { journalGuards } from './journalGuards.js'
export { journalInput, MAX_JOURNAL_KEY_LENGTH } from './journalInput.js'
export type {
  CallRecord,
  CheckpointRecord,
  Created,
  DurableSessionRecord,
  ExecutionRecord,
  FinalJournalState,
  HitlPromiseKind,
  HitlPromiseRecord,
  JournalState,
  Lease,
  LeaseToken,
  RejectedJournalState,
  Settled,
  SettledFields,
  Settlement,
} from './journalRecords.js'
export { JOURNAL_STATES } from './journalRecords.js'
export type { JournalRow } from './journalRows.js'
export { journalRows } from './journalRows.js'
export type { EncodedSettlement } from './journalValue.js'
export {
  checkResettle,
  decodeJournalValue,
  decodeOutcome,
  encodeJournalValue,
  encodeSettlement,
  parseJournalState,
} from './journalValue.js'
export type { JournalWaitersHooks } from './journalWaiters.js'
export { executionWaitKey, JournalWaiters, promiseWaitKey } from './journalWaiters.js'
export type { MemoryJournal, MemoryJournalOptions } from './memoryJournal.js'
export { memoryJournal } from './memoryJournal.js'

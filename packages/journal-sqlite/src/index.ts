// Public API of @capsule/journal-sqlite. Anything exported here is public: add intentionally.

export type { SqliteJournalOptions } from './sqliteJournal.js'
export {
  DEFAULT_SQLITE_BUSY_TIMEOUT_MS,
  DEFAULT_SQLITE_POLL_INTERVAL_MS,
  sqliteJournal,
} from './sqliteJournal.js'
export { CAPSULE_APPLICATION_ID, SQLITE_SCHEMA_VERSION } from './sqliteSchema.js'

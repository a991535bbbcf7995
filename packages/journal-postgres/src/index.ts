// Public API of @capsule/journal-postgres. Anything exported here is public: add intentionally.

export type { PostgresJournalOptions } from './postgresJournal.js'
export { DEFAULT_POSTGRES_SCHEMA, postgresJournal } from './postgresJournal.js'
export { POSTGRES_SCHEMA_VERSION } from './postgresSchema.js'

import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs'
import { CapsuleError } from '@capsule/core'
import type Database from 'better-sqlite3'

/** `PRAGMA application_id` of a Capsule journal ("CAPJ"): tells our file from any other SQLite file. */
export const CAPSULE_APPLICATION_ID = 0x4341504a

interface Migration {
  readonly version: number
  readonly name: string
  readonly sql: string
}

// Append only: a released migration never changes. The schema version is the highest applied.
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'journal',
    sql: `
      CREATE TABLE sessions (
        key TEXT PRIMARY KEY,
        python_hash_seed INTEGER NOT NULL,
        policy_fingerprint TEXT NOT NULL,
        owner TEXT,
        lease_expires_at INTEGER,
        epoch INTEGER NOT NULL DEFAULT 0,
        last_sequence INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE executions (
        position INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        session_key TEXT NOT NULL REFERENCES sessions (key),
        sequence INTEGER NOT NULL,
        code TEXT NOT NULL,
        code_hash TEXT NOT NULL,
        policy_fingerprint TEXT NOT NULL,
        idempotency_key TEXT,
        submitted_by TEXT,
        owner TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL,
        outcome TEXT,
        created_at INTEGER NOT NULL,
        settled_at INTEGER,
        UNIQUE (session_key, sequence),
        UNIQUE (session_key, idempotency_key)
      );
      CREATE INDEX executions_pending ON executions (position) WHERE state = 'pending';
      CREATE TABLE calls (
        position INTEGER PRIMARY KEY,
        execution_id TEXT NOT NULL REFERENCES executions (id),
        key TEXT NOT NULL,
        capability TEXT NOT NULL,
        args_hash TEXT NOT NULL,
        ordinal INTEGER NOT NULL,
        state TEXT NOT NULL,
        outcome TEXT,
        created_at INTEGER NOT NULL,
        settled_at INTEGER,
        UNIQUE (execution_id, key)
      );
      CREATE TABLE promises (
        position INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        session_key TEXT NOT NULL,
        execution_id TEXT NOT NULL REFERENCES executions (id),
        payload TEXT NOT NULL,
        state TEXT NOT NULL,
        outcome TEXT,
        created_at INTEGER NOT NULL,
        settled_at INTEGER
      );
      CREATE INDEX promises_session ON promises (session_key);
      CREATE INDEX promises_execution ON promises (execution_id);
      CREATE TABLE checkpoints (
        position INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        session_key TEXT NOT NULL,
        sequence INTEGER NOT NULL,
        blob BLOB NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX checkpoints_session ON checkpoints (session_key, sequence);
    `,
  },
]

/** The schema version this code writes. A journal at a higher version is refused (JOURNAL_VERSION). */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version

const SQLITE_HEADER = Buffer.from('SQLite format 3\u0000', 'latin1')

/**
 * Refuses a file that is not an SQLite database before SQLite touches it (JOURNAL_CORRUPT): SQLite
 * would only notice at the first read, and WAL mode might have created side files by then.
 */
export function checkSqliteHeader(path: string): void {
  if (!existsSync(path) || statSync(path).size === 0) return
  const header = Buffer.alloc(SQLITE_HEADER.length)
  const fd = openSync(path, 'r')
  try {
    readSync(fd, header, 0, header.length, 0)
  } finally {
    closeSync(fd)
  }
  if (!header.equals(SQLITE_HEADER)) {
    throw new CapsuleError('JOURNAL_CORRUPT', `${path} is not an SQLite database, so not a Capsule journal`, {
      details: { path, reason: 'not-sqlite' },
    })
  }
}

/**
 * Brings an open database to {@link SQLITE_SCHEMA_VERSION} in one IMMEDIATE transaction (so two processes
 * opening a fresh file at once migrate it once), after checking it is ours: an empty file becomes a
 * journal; a file of another application is JOURNAL_CORRUPT; a newer schema is JOURNAL_VERSION.
 * Returns the schema version.
 */
export function migrate(db: Database.Database, path: string): number {
  const run = db.transaction((): number => {
    const applicationId = db.pragma('application_id', { simple: true }) as number
    const objects = db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number }
    if (applicationId !== CAPSULE_APPLICATION_ID && (applicationId !== 0 || objects.n > 0)) {
      throw new CapsuleError(
        'JOURNAL_CORRUPT',
        `${path} is an SQLite database of another application (application_id ${applicationId}, ${objects.n} schema objects), not a Capsule journal`,
        { details: { path, reason: 'foreign', applicationId } },
      )
    }
    db.exec(
      'CREATE TABLE IF NOT EXISTS capsule_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    )
    const recorded = db.prepare('SELECT max(version) AS v FROM capsule_migrations').get() as {
      v: number | null
    }
    const userVersion = db.pragma('user_version', { simple: true }) as number
    const current = Math.max(recorded.v ?? 0, userVersion)
    if (current > SQLITE_SCHEMA_VERSION) {
      throw new CapsuleError(
        'JOURNAL_VERSION',
        `${path} was written by a newer Capsule (journal schema ${current}; this version reads up to ${SQLITE_SCHEMA_VERSION}): upgrade @capsule/journal-sqlite`,
        { details: { path, schemaVersion: current, supported: SQLITE_SCHEMA_VERSION } },
      )
    }
    const insert = db.prepare('INSERT INTO capsule_migrations (version, name, applied_at) VALUES (?, ?, ?)')
    for (const migration of MIGRATIONS) {
      if (migration.version <= current) continue
      db.exec(migration.sql)
      insert.run(migration.version, migration.name, Date.now())
    }
    db.pragma(`application_id = ${CAPSULE_APPLICATION_ID}`)
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`)
    return SQLITE_SCHEMA_VERSION
  })
  return run.immediate()
}

import { CapsuleError } from '@capsule/core'
import type pg from 'pg'

/** Quotes a validated schema name as an SQL identifier. */
export const ident = (schema: string): string => `"${schema}"`

// Append only: a released migration never changes. `$schema` is the quoted schema name.
const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'journal',
    sql: `
      CREATE TABLE $schema.sessions (
        key text PRIMARY KEY,
        python_hash_seed bigint NOT NULL,
        policy_fingerprint text NOT NULL,
        owner text,
        lease_expires_at bigint,
        epoch bigint NOT NULL DEFAULT 0,
        last_sequence bigint NOT NULL DEFAULT 0,
        created_at bigint NOT NULL
      );
      CREATE TABLE $schema.executions (
        position bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        session_key text NOT NULL REFERENCES $schema.sessions (key),
        sequence bigint NOT NULL,
        code text NOT NULL,
        code_hash text NOT NULL,
        policy_fingerprint text NOT NULL,
        idempotency_key text,
        submitted_by text,
        owner text,
        attempts bigint NOT NULL DEFAULT 0,
        state text NOT NULL,
        outcome text,
        created_at bigint NOT NULL,
        settled_at bigint,
        UNIQUE (session_key, sequence),
        UNIQUE (session_key, idempotency_key)
      );
      CREATE INDEX executions_pending ON $schema.executions (position) WHERE state = 'pending';
      CREATE TABLE $schema.calls (
        position bigserial PRIMARY KEY,
        execution_id text NOT NULL REFERENCES $schema.executions (id),
        key text NOT NULL,
        capability text NOT NULL,
        args_hash text NOT NULL,
        ordinal bigint NOT NULL,
        state text NOT NULL,
        outcome text,
        created_at bigint NOT NULL,
        settled_at bigint,
        UNIQUE (execution_id, key)
      );
      CREATE TABLE $schema.promises (
        position bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        kind text NOT NULL,
        session_key text NOT NULL,
        execution_id text NOT NULL REFERENCES $schema.executions (id),
        payload text NOT NULL,
        state text NOT NULL,
        outcome text,
        created_at bigint NOT NULL,
        settled_at bigint
      );
      CREATE INDEX promises_session ON $schema.promises (session_key);
      CREATE INDEX promises_execution ON $schema.promises (execution_id);
      CREATE TABLE $schema.checkpoints (
        position bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        session_key text NOT NULL,
        sequence bigint NOT NULL,
        blob bytea NOT NULL,
        created_at bigint NOT NULL
      );
      CREATE INDEX checkpoints_session ON $schema.checkpoints (session_key, sequence);
    `,
  },
]

/** The schema version this code writes. A journal at a higher version is refused (JOURNAL_VERSION). */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version

/**
 * Brings the journal's schema to {@link POSTGRES_SCHEMA_VERSION} inside the caller's transaction, under a
 * transaction-scoped advisory lock, so hosts starting together migrate once. A schema that holds tables
 * but no migrations table is someone else's (JOURNAL_CORRUPT); a newer version is JOURNAL_VERSION.
 */
export async function migrate(client: pg.PoolClient | pg.Client, schema: string): Promise<number> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`capsule-journal-migrate:${schema}`])
  const tables = await client.query<{ table_name: string }>(
    'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
    [schema],
  )
  const names = tables.rows.map((row) => row.table_name)
  if (names.length > 0 && !names.includes('capsule_migrations')) {
    throw new CapsuleError(
      'JOURNAL_CORRUPT',
      `the PostgreSQL schema ${schema} holds tables of another application (${names.slice(0, 5).join(', ')}), not a Capsule journal: choose another schema`,
      { details: { schema, reason: 'foreign' } },
    )
  }
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`)
  await client.query(
    `CREATE TABLE IF NOT EXISTS ${ident(schema)}.capsule_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)`,
  )
  const { rows } = await client.query<{ v: number | null }>(
    `SELECT max(version) AS v FROM ${ident(schema)}.capsule_migrations`,
  )
  const current = rows[0]?.v ?? 0
  if (current > POSTGRES_SCHEMA_VERSION) {
    throw new CapsuleError(
      'JOURNAL_VERSION',
      `the journal in PostgreSQL schema ${schema} was written by a newer Capsule (journal schema ${current}; this version reads up to ${POSTGRES_SCHEMA_VERSION}): upgrade @capsule/journal-postgres`,
      { details: { schema, schemaVersion: current, supported: POSTGRES_SCHEMA_VERSION } },
    )
  }
  for (const migration of MIGRATIONS) {
    if (migration.version <= current) continue
    await client.query(migration.sql.replaceAll('$schema', ident(schema)))
    await client.query(
      `INSERT INTO ${ident(schema)}.capsule_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
      [migration.version, migration.name, Date.now()],
    )
  }
  return POSTGRES_SCHEMA_VERSION
}

import { randomBytes } from 'node:crypto'
import pg from 'pg'

/** The PostgreSQL server the tests use: CAPSULE_TEST_POSTGRES_URL (.ci/run starts a throwaway cluster). */
export const POSTGRES_URL = process.env.CAPSULE_TEST_POSTGRES_URL || undefined

/**
 * Why the PostgreSQL tests cannot run here, printed once, or undefined when a server is configured. Under
 * CI=true a missing server is an error, never a skip.
 */
export function postgresUnavailable(): string | undefined {
  if (POSTGRES_URL) return undefined
  if (process.env.CI === 'true') {
    throw new Error(
      'CI=true but CAPSULE_TEST_POSTGRES_URL is not set: the PostgreSQL journal tests must run in CI',
    )
  }
  const reason = 'no PostgreSQL configured: set CAPSULE_TEST_POSTGRES_URL'
  console.warn(`@capsule/journal-postgres tests skipped: ${reason}`)
  return reason
}

/** A schema name no other test uses. */
export function uniqueSchema(): string {
  return `capsule_test_${randomBytes(6).toString('hex')}`
}

/** Runs one SQL statement on the test server outside any journal. */
export async function adminQuery(sql: string, values: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: POSTGRES_URL })
  await client.connect()
  try {
    return await client.query(sql, values)
  } finally {
    await client.end()
  }
}

import { describeJournalContract } from '@capsule/contract-tests/journal'
import { type PostgresJournalOptions, postgresJournal } from '../src/index.js'
import { adminQuery, POSTGRES_URL, postgresUnavailable, uniqueSchema } from './postgresTestServer.js'

const unavailable = postgresUnavailable()

function postgresFixture(options: Pick<PostgresJournalOptions, 'synchronousCommit'> = {}) {
  return async () => {
    const schema = uniqueSchema()
    const open = () => postgresJournal({ connectionString: POSTGRES_URL!, schema, ...options })
    let journal = open()
    return {
      journal,
      connect: async () => open(),
      async reopen() {
        await journal.close()
        journal = open()
        return journal
      },
      async simulateNewerSchema() {
        await adminQuery(
          `INSERT INTO "${schema}".capsule_migrations (version, name, applied_at) VALUES (999, 'future', 0)`,
        )
      },
      async cleanup() {
        await journal.close()
        await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
      },
    }
  }
}

describeJournalContract('postgres', postgresFixture(), unavailable ? { unavailable } : {})
describeJournalContract(
  'postgres (synchronous_commit off)',
  postgresFixture({ synchronousCommit: 'off' }),
  unavailable ? { unavailable } : {},
)

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describeJournalContract } from '@capsule/contract-tests/journal'
import Database from 'better-sqlite3'
import { type SqliteJournalOptions, sqliteJournal } from '../src/index.js'

function sqliteFixture(options: Omit<SqliteJournalOptions, 'path'>) {
  return async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'capsule-journal-sqlite-'))
    const file = path.join(dir, 'journal.db')
    let journal = sqliteJournal({ ...options, path: file })
    return {
      journal,
      connect: async () => sqliteJournal({ ...options, path: file }),
      async reopen() {
        await journal.close()
        journal = sqliteJournal({ ...options, path: file })
        return journal
      },
      async simulateNewerSchema() {
        const db = new Database(file)
        db.prepare('INSERT INTO capsule_migrations (version, name, applied_at) VALUES (999, ?, ?)').run(
          'future',
          Date.now(),
        )
        db.pragma('user_version = 999')
        db.close()
      },
      async cleanup() {
        await journal.close()
        await rm(dir, { recursive: true, force: true })
      },
    }
  }
}

describeJournalContract('sqlite (synchronous normal)', sqliteFixture({ pollIntervalMs: 20 }))
describeJournalContract('sqlite (synchronous full, group commit)', sqliteFixture({ synchronous: 'full' }))

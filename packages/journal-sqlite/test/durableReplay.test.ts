// Durable sessions on a real SQLite file: a replay that diverges from the journal, and journal files that
// are not (or no longer) a Capsule journal.
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { afterAll, describe, expect, test } from 'vitest'
import { Capsule, isCapsuleError } from '../../core/src/index.js'
import { canonicalHash } from '../../core/src/journal/index.js'
import { effectsDir, startHost, until } from '../../core/test/durable/hostProcess.js'
import { sqliteJournal } from '../src/index.js'

const HOST = fileURLToPath(new URL('./fixtures/durableSqliteHost.ts', import.meta.url))
const places: ReturnType<typeof effectsDir>[] = []
afterAll(() => {
  for (const place of places) place.remove()
})

type Summary = {
  status: string
  error?: { ename?: string; evalue?: string }
  durable?: { divergence?: unknown; unconsumed: unknown[] }
}

describe('replay against the journal', () => {
  test('a recovered cell that makes another call than the journal recorded fails REPLAY_DIVERGED, naming both', async () => {
    const here = effectsDir()
    places.push(here)
    const journalPath = path.join(here.dir, 'journal.db')
    const input = path.join(here.dir, 'input.txt')
    writeFileSync(input, 'first')
    const env = { JOURNAL_PATH: journalPath, EFFECTS_FILE: here.file, CAPSULE_HOST_ID: 'host-a' }
    const cell = [
      'import time',
      `a = append(open(${JSON.stringify(input)}).read())`,
      'time.sleep(0.3)',
      'b = append("second")',
    ].join('\n')
    const journal = sqliteJournal({ path: journalPath, pollIntervalMs: 10 })
    try {
      const host = startHost(HOST, ['run', 'user-1', cell], env)
      await journal.open()
      await until(async () => {
        const [execution] = await journal.listExecutions('user-1')
        if (execution === undefined) return false
        return (await journal.listCalls(execution.id)).some((call) => call.state === 'resolved')
      })
      host.proc.kill('SIGKILL')
      await host.exited
      // What the cell reads changed while its host was down: its replay makes another call.
      writeFileSync(input, 'changed')
      const recovering = startHost(HOST, ['recover'], env)
      const report = (await recovering.next()) as { sessions: { completed: Summary[] }[] }
      await recovering.exited
      const [result] = report.sessions[0]!.completed
      expect(result!.status).toBe('error')
      expect(result!.error!.evalue).toContain('replay diverged')
      expect(result!.durable!.divergence).toEqual({
        recorded: { capability: 'ledger.append', argsHash: canonicalHash({ line: 'first' }), ordinal: 0 },
        attempted: { capability: 'ledger.append', argsHash: canonicalHash({ line: 'changed' }), ordinal: 0 },
      })
      expect(result!.durable!.unconsumed).toEqual([
        {
          capability: 'ledger.append',
          argsHash: canonicalHash({ line: 'first' }),
          ordinal: 0,
          state: 'resolved',
        },
      ])
      // The diverging call never ran, and neither did anything after it.
      expect(here.lines()).toEqual(['first'])
    } finally {
      await journal.close()
    }
  }, 90_000)
})

describe('a journal file that is not a Capsule journal', () => {
  function capsuleOn(file: string) {
    return new Capsule({
      python: process.env.CAPSULE_PYTHON ?? 'python3',
      sandbox: 'none',
      journal: sqliteJournal({ path: file }),
    })
  }

  test('a corrupt file: session({ key }) fails JOURNAL_CORRUPT, the file is untouched, plain sessions still run', async () => {
    const here = effectsDir()
    places.push(here)
    const file = path.join(here.dir, 'journal.db')
    writeFileSync(file, 'this is not a database, it is a shopping list\n'.repeat(200))
    const before = readFileSync(file)
    const capsule = capsuleOn(file)
    try {
      const error = await capsule.session({ key: 'k' }).catch((e) => e)
      expect(isCapsuleError(error, 'JOURNAL_CORRUPT')).toBe(true)
      expect(readFileSync(file).equals(before)).toBe(true)
      const plain = await capsule.session()
      expect((await plain.run('1 + 1')).value?.['text/plain']).toBe('2')
    } finally {
      await capsule.close()
    }
  }, 60_000)

  test("another application's SQLite database: JOURNAL_CORRUPT, its tables untouched", async () => {
    const here = effectsDir()
    places.push(here)
    const file = path.join(here.dir, 'app.db')
    const db = new Database(file)
    db.exec(
      "CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT); INSERT INTO orders (item) VALUES ('tea')",
    )
    db.close()
    const capsule = capsuleOn(file)
    try {
      const error = await capsule.session({ key: 'k' }).catch((e) => e)
      expect(isCapsuleError(error, 'JOURNAL_CORRUPT')).toBe(true)
      await expect(capsule.recover()).rejects.toMatchObject({ code: 'JOURNAL_CORRUPT' })
    } finally {
      await capsule.close()
    }
    const check = new Database(file, { readonly: true })
    const tables = check.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()
    expect(tables).toEqual([{ name: 'orders' }])
    check.close()
  }, 60_000)
})

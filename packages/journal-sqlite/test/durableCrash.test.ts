// Durable sessions on a real SQLite file, with real host processes killed mid-cell and recovered by others.
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, test } from 'vitest'
import { appendingCell, effectsDir, startHost, until } from '../../core/test/durable/hostProcess.js'
import { sqliteJournal } from '../src/index.js'

const HOST = fileURLToPath(new URL('./fixtures/durableSqliteHost.ts', import.meta.url))
const N = 3
const CELL = appendingCell(N)

type Summary = { status: string; value?: string; durable?: { recovered: boolean; executionId: string } }
type Report = { sessions: { sessionKey: string; completed: Summary[] }[] }

function place() {
  const effects = effectsDir()
  const journalPath = path.join(effects.dir, 'journal.db')
  const env = { JOURNAL_PATH: journalPath, EFFECTS_FILE: effects.file, CAPSULE_HOST_ID: 'host-a' }
  const journal = sqliteJournal({ path: journalPath, pollIntervalMs: 10 })
  return { ...effects, env, journal }
}

let uncrashed: string
beforeAll(async () => {
  const here = place()
  const host = startHost(HOST, ['run', 'baseline', CELL], here.env)
  const result = (await host.next()) as Summary
  await host.exited
  here.remove()
  expect(result.status).toBe('ok')
  uncrashed = result.value!
  expect(uncrashed).toBe('[1, 2, 3]')
}, 60_000)

describe('a host killed mid-cell, recovered by another process', () => {
  for (let settled = 0; settled <= N; settled += 1) {
    test(`killed after ${settled} recorded call(s): the cell completes, each effect happened once`, async () => {
      const here = place()
      try {
        const host = startHost(HOST, ['run', 'user-1', CELL], here.env)
        await here.journal.open()
        await until(async () => {
          const [execution] = await here.journal.listExecutions('user-1')
          if (execution === undefined || execution.attempts === 0) return false
          const calls = await here.journal.listCalls(execution.id)
          return calls.filter((call) => call.state !== 'pending').length === settled
        })
        host.proc.kill('SIGKILL')
        expect((await host.exited).signal).toBe('SIGKILL')
        expect(here.lines()).toHaveLength(settled)
        const recovering = startHost(HOST, ['recover'], here.env)
        const report = (await recovering.next()) as Report
        await recovering.exited
        const [result] = report.sessions[0]!.completed
        expect(result!.status).toBe('ok')
        expect(result!.value).toBe(uncrashed)
        expect(result!.durable!.recovered).toBe(true)
        expect(here.lines()).toEqual(['line 0', 'line 1', 'line 2'])
        const [execution] = await here.journal.listExecutions('user-1')
        expect(execution!.state).toBe('resolved')
      } finally {
        await here.journal.close()
        here.remove()
      }
    }, 60_000)
  }
})

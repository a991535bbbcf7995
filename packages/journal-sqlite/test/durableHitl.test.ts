// Durable sessions on a real SQLite file: in-doubt calls, input() and executions answered across processes,
// and the policy checked again on replay.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, test } from 'vitest'
import { RETRY_SETTLEMENT } from '../../core/src/durable/inDoubt.js'
import { Capsule } from '../../core/src/index.js'
import { appendingCell, effectsDir, startHost, until } from '../../core/test/durable/hostProcess.js'
import { sqliteJournal } from '../src/index.js'

const HOST = fileURLToPath(new URL('./fixtures/durableSqliteHost.ts', import.meta.url))

type Summary = {
  status: string
  value?: string
  error?: { ename?: string; evalue?: string }
  durable?: { recovered: boolean; executionId: string }
}
type Report = { sessions: { sessionKey: string; completed: Summary[] }[] }

async function withPlace(body: (here: ReturnType<typeof place>) => Promise<void>): Promise<void> {
  const here = place()
  try {
    await here.journal.open()
    await body(here)
  } finally {
    await here.journal.close()
    here.remove()
  }
}

function place() {
  const effects = effectsDir()
  const journalPath = path.join(effects.dir, 'journal.db')
  const env = { JOURNAL_PATH: journalPath, EFFECTS_FILE: effects.file, CAPSULE_HOST_ID: 'host-a' }
  return { ...effects, env, journal: sqliteJournal({ path: journalPath, pollIntervalMs: 10 }) }
}

describe('durable sessions across processes on one SQLite file', () => {
  test('a host killed between a call and its record: the call is in doubt until another process settles it', async () => {
    await withPlace(async (here) => {
      const host = startHost(HOST, ['run', 'user-1', appendingCell(3, 0.05)], {
        ...here.env,
        KILL_ON_CALL: '2',
      })
      expect((await host.exited).signal).toBe('SIGKILL')
      expect(here.lines()).toEqual(['line 0', 'line 1'])
      const recovering = startHost(HOST, ['recover'], here.env)
      await until(
        async () => (await here.journal.listPromises({ kind: 'in_doubt', state: 'pending' })).length > 0,
      )
      const [inDoubt] = await here.journal.listPromises({ kind: 'in_doubt', state: 'pending' })
      expect(inDoubt!.payload).toMatchObject({ capability: 'ledger.append', ordinal: 0 })
      // A person looked at the file: the append happened, and the file then had 2 lines.
      const other = new Capsule({ sandbox: 'none', journal: here.journal, hostId: 'operator' })
      await expect(other.journalPromises.retry('in_doubt:nope')).rejects.toMatchObject({
        code: 'UNKNOWN_PROMISE',
      })
      expect((await other.journalPromises.list({ kind: 'in_doubt' })).map((p) => p.id)).toEqual([inDoubt!.id])
      await other.journalPromises.resolve(inDoubt!.id, 2)
      await other.close()
      const report = (await recovering.next()) as Report
      await recovering.exited
      const [result] = report.sessions[0]!.completed
      expect(result).toMatchObject({ status: 'ok', value: '[1, 2, 3]', durable: { recovered: true } })
      expect(here.lines()).toEqual(['line 0', 'line 1', 'line 2'])
    })
  }, 90_000)

  test('an in-doubt call settled "retry" runs again with the same idempotency key', async () => {
    await withPlace(async (here) => {
      const host = startHost(HOST, ['run', 'user-4', appendingCell(2, 0.05)], {
        ...here.env,
        KILL_ON_CALL: '1',
      })
      expect((await host.exited).signal).toBe('SIGKILL')
      const recovering = startHost(HOST, ['recover'], here.env)
      await until(
        async () => (await here.journal.listPromises({ kind: 'in_doubt', state: 'pending' })).length > 0,
      )
      const [inDoubt] = await here.journal.listPromises({ kind: 'in_doubt', state: 'pending' })
      await here.journal.settlePromise(inDoubt!.id, RETRY_SETTLEMENT)
      const report = (await recovering.next()) as Report
      await recovering.exited
      // The person chose to run it again: the first append happened twice, as they were told it might.
      expect(report.sessions[0]!.completed[0]).toMatchObject({ status: 'ok', value: '[2, 3]' })
      expect(here.lines()).toEqual(['line 0', 'line 0', 'line 1'])
      const keys = readFileSync(`${here.file}.keys`, 'utf8').split('\n').filter(Boolean)
      expect(keys[1]).toBe(keys[0])
      expect(keys[2]).not.toBe(keys[0])
      const [execution] = await here.journal.listExecutions('user-4')
      const calls = await here.journal.listCalls(execution!.id)
      expect(calls.map((call) => [call.ordinal, call.state])).toEqual([
        [0, 'resolved'],
        [0, 'resolved'],
      ])
    })
  }, 90_000)

  test('input() answered and the execution awaited from other processes', async () => {
    await withPlace(async (here) => {
      const asking = startHost(HOST, ['run', 'user-2', 'name = input("who? ")\nname.upper()'], here.env)
      await until(
        async () => (await here.journal.listPromises({ kind: 'input', state: 'pending' })).length > 0,
      )
      const [execution] = await here.journal.listExecutions('user-2')
      const waiting = startHost(HOST, ['wait', execution!.id], { ...here.env, CAPSULE_HOST_ID: 'host-b' })
      await waiting.next((line) => line === 'ready')
      const [question] = await here.journal.listPromises({ kind: 'input', state: 'pending' })
      expect(question!.payload).toMatchObject({ prompt: 'who? ' })
      const other = new Capsule({ sandbox: 'none', journal: here.journal, hostId: 'operator' })
      await expect(other.journalPromises.retry(question!.id)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      })
      await other.journalPromises.resolve(question!.id, 'ada')
      await other.close()
      expect(await asking.next()).toMatchObject({ status: 'ok', value: "'ADA'" })
      expect(await waiting.next()).toMatchObject({
        status: 'ok',
        value: "'ADA'",
        durable: { executionId: execution!.id, recorded: true },
      })
      await Promise.all([asking.exited, waiting.exited])
    })
  }, 90_000)

  // A denied capability is not even in the recovering worker's namespace (the pipeline decides before it
  // records, so a forged call frame would fail DENIED first): the cell fails, nothing comes from the journal.
  test('a recovering host whose policy denies the capability: the recorded call is not served from the journal', async () => {
    await withPlace(async (here) => {
      const host = startHost(HOST, ['run', 'user-3', appendingCell(2, 0.05)], {
        ...here.env,
        KILL_ON_CALL: '2',
      })
      await host.exited
      expect(here.lines()).toEqual(['line 0', 'line 1'])
      const recovering = startHost(HOST, ['recover'], { ...here.env, DENY: 'ledger.append' })
      const report = (await recovering.next()) as Report
      await recovering.exited
      const [result] = report.sessions[0]!.completed
      expect(result!.status).toBe('error')
      expect(result!.error).toMatchObject({ ename: 'NameError' })
      expect(result!.error!.evalue).toContain("'append'")
      expect(here.lines()).toEqual(['line 0', 'line 1'])
      expect(await here.journal.listPromises({ kind: 'in_doubt' })).toEqual([])
    })
  }, 90_000)
})

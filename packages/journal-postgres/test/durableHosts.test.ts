// Durable sessions shared by host processes on one real PostgreSQL: HITL answered from another host, a
// killed host's session taken over, a paused owner fenced, and a journal that goes away mid-run.
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, test } from 'vitest'
import { Capsule, isCapsuleError, type Journal } from '../../core/src/index.js'
import { ledgerProvider } from '../../core/test/durable/fixtures/durableHost.js'
import { appendingCell, effectsDir, startHost, until } from '../../core/test/durable/hostProcess.js'
import { postgresJournal } from '../src/index.js'
import { adminQuery, POSTGRES_URL, postgresUnavailable, uniqueSchema } from './postgresTestServer.js'
import { TcpProxy } from './tcpProxy.js'

const unavailable = postgresUnavailable()
const HOST = fileURLToPath(new URL('./fixtures/durablePostgresHost.ts', import.meta.url))
const cleanups: (() => Promise<void> | void)[] = []
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

type Summary = { status: string; value?: string; error?: unknown; durable?: { recovered: boolean } }

function place(hostUrl = POSTGRES_URL!) {
  const effects = effectsDir()
  const schema = uniqueSchema()
  const journal = postgresJournal({ connectionString: POSTGRES_URL!, schema })
  cleanups.push(
    () => effects.remove(),
    () => adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).then(() => undefined),
    () => journal.close(),
  )
  const env = (hostId: string, extra: Record<string, string> = {}) => ({
    JOURNAL_URL: hostUrl,
    JOURNAL_SCHEMA: schema,
    EFFECTS_FILE: effects.file,
    CAPSULE_HOST_ID: hostId,
    ...extra,
  })
  return { ...effects, schema, journal, env }
}

/** Settled calls of the session's execution `sequence` (-1 before it started). */
async function settledCalls(journal: Journal, sessionKey: string, sequence = 1): Promise<number> {
  const execution = (await journal.listExecutions(sessionKey)).find((e) => e.sequence === sequence)
  if (execution === undefined || execution.attempts === 0) return -1
  return (await journal.listCalls(execution.id)).filter((call) => call.state !== 'pending').length
}

describe.skipIf(unavailable !== undefined)('durable sessions on one PostgreSQL, many hosts', () => {
  test('input() asked on one host is answered from another; a third host awaits the execution', async () => {
    const here = place()
    await here.journal.open()
    const asking = startHost(
      HOST,
      ['run', 'user-1', 'name = input("who? ")\nname.upper()'],
      here.env('host-a'),
    )
    await until(async () => (await here.journal.listPromises({ kind: 'input', state: 'pending' })).length > 0)
    const [execution] = await here.journal.listExecutions('user-1')
    const waiting = startHost(HOST, ['wait', execution!.id], here.env('host-c'))
    await waiting.next((line) => line === 'ready')
    // This process is another host: it answers through its own Capsule on the same journal.
    const answering = new Capsule({ sandbox: 'none', journal: here.journal, hostId: 'host-b' })
    cleanups.push(() => answering.close())
    const [question] = await answering.journalPromises.list({ kind: 'input' })
    expect(question!.payload).toMatchObject({ prompt: 'who? ' })
    await answering.journalPromises.resolve(question!.id, 'grace')
    expect(await asking.next()).toMatchObject({ status: 'ok', value: "'GRACE'" })
    expect(await waiting.next()).toMatchObject({
      status: 'ok',
      value: "'GRACE'",
      durable: { recorded: true },
    })
    await Promise.all([asking.exited, waiting.exited])
  }, 90_000)

  test('three hosts, the owner killed mid-cell: one of the others claims the session, rebuilds it, finishes', async () => {
    const here = place()
    await here.journal.open()
    const ttl = { LEASE_TTL_MS: '1500' }
    // An earlier cell, so taking the session over means rebuilding its namespace.
    const first = startHost(HOST, ['run', 'user-2', 'base = append("setup")'], here.env('host-a', ttl))
    expect(await first.next()).toMatchObject({ status: 'ok' })
    await first.exited
    const owner = startHost(
      HOST,
      ['run', 'user-2', `${appendingCell(3)}\n[base] + out`],
      here.env('host-a', ttl),
    )
    const stop = path.join(here.dir, 'stop')
    const others = [
      startHost(HOST, ['serve', stop], here.env('host-b', ttl)),
      startHost(HOST, ['serve', stop], here.env('host-c', ttl)),
    ]
    cleanups.push(() => writeFileSync(stop, ''))
    await until(async () => (await settledCalls(here.journal, 'user-2', 2)) >= 1)
    owner.proc.kill('SIGKILL')
    expect(here.lines().length).toBeLessThan(4)
    await owner.exited
    const finished = (line: unknown) => (line as { completed?: unknown[] }).completed?.length === 1
    const done = (await Promise.race(others.map((host) => host.next(finished)))) as { completed: Summary[] }
    expect(done.completed[0]).toMatchObject({
      status: 'ok',
      value: '[1, 2, 3, 4]',
      durable: { recovered: true },
    })
    expect(here.lines()).toEqual(['setup', 'line 0', 'line 1', 'line 2'])
    writeFileSync(stop, '')
    await Promise.all(others.map((host) => host.exited))
    // Exactly one of them did it.
    expect(others.filter((host) => host.lines.some(finished))).toHaveLength(1)
  }, 120_000)

  test('an owner paused (SIGSTOP) past its lease and resumed after a takeover cannot write: nothing it does is recorded', async () => {
    const here = place()
    await here.journal.open()
    const ttl = { LEASE_TTL_MS: '1500' }
    const owner = startHost(HOST, ['run', 'user-3', appendingCell(3)], here.env('host-a', ttl))
    await until(async () => (await settledCalls(here.journal, 'user-3')) === 1)
    owner.proc.kill('SIGSTOP')
    let resumed = false
    cleanups.push(() => {
      if (!resumed) owner.proc.kill('SIGKILL')
    })
    await until(async () => {
      const session = await here.journal.getSession('user-3')
      return session?.leaseExpiresAt != null && session.leaseExpiresAt < Date.now() - 200
    })
    const taking = startHost(HOST, ['recover'], here.env('host-b', ttl))
    const report = (await taking.next()) as { sessions: { completed: Summary[] }[] }
    await taking.exited
    expect(report.sessions[0]!.completed[0]).toMatchObject({ status: 'ok', value: '[1, 2, 3]' })
    const [execution] = await here.journal.listExecutions('user-3')
    const recordedCalls = await here.journal.listCalls(execution!.id)
    owner.proc.kill('SIGCONT')
    resumed = true
    // The resumed owner's worker had gone on to its next call, which waited in the pipe: it must not run.
    const outcome = await owner.next()
    await owner.exited
    // Either way it fails closed: fenced by the lease, or (when it was stopped inside a connect or query,
    // whose timer fires on resume before the answer is read) refused as the journal being unavailable.
    expect(JSON.stringify(outcome)).toMatch(/LEASE_LOST|another host took|JOURNAL_UNAVAILABLE/)
    expect(here.lines()).toEqual(['line 0', 'line 1', 'line 2'])
    expect(await here.journal.listCalls(execution!.id)).toEqual(recordedCalls)
    expect(await here.journal.getExecution(execution!.id)).toMatchObject({ state: 'resolved' })
  }, 120_000)

  test('the journal cut mid-run: the next call fails closed and runs nothing; recovery finishes the cell', async () => {
    const target = new URL(POSTGRES_URL!)
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
    await proxy.start()
    cleanups.push(() => proxy.stop())
    const viaProxy = new URL(POSTGRES_URL!)
    viaProxy.port = String(proxy.port)
    const here = place(viaProxy.toString())
    await here.journal.open()
    const open = () => {
      const capsule = new Capsule({
        python: process.env.CAPSULE_PYTHON ?? 'python3',
        sandbox: 'none',
        providers: [ledgerProvider(here.file)],
        journal: postgresJournal({
          connectionString: viaProxy.toString(),
          schema: here.schema,
          connectionTimeoutMs: 1000,
        }),
        hostId: 'host-a',
      })
      cleanups.push(() => capsule.close())
      return capsule
    }
    const session = await open().session({ key: 'user-4' })
    const running = session.run(appendingCell(3)).catch((error) => error)
    await until(async () => (await settledCalls(here.journal, 'user-4')) === 1)
    await proxy.stop()
    const failed = await running
    expect(isCapsuleError(failed, 'JOURNAL_UNAVAILABLE')).toBe(true)
    expect(here.lines()).toEqual(['line 0'])
    const [execution] = await here.journal.listExecutions('user-4')
    expect(execution!.state).toBe('pending')
    expect(await here.journal.listCalls(execution!.id)).toHaveLength(1)
    await proxy.start()
    const report = await open().recover()
    expect(report.sessions[0]!.completed[0]).toMatchObject({ status: 'ok', durable: { recovered: true } })
    expect(report.sessions[0]!.completed[0]!.value?.['text/plain']).toBe('[1, 2, 3]')
    expect(here.lines()).toEqual(['line 0', 'line 1', 'line 2'])
  }, 120_000)
})

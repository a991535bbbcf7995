import { isCapsuleError, type Journal } from '@capsule/core'
import { canonicalHash } from '@capsule/core/journal'
import { afterEach, describe, expect, test } from 'vitest'
import { POSTGRES_SCHEMA_VERSION, postgresJournal } from '../src/index.js'
import { adminQuery, POSTGRES_URL, postgresUnavailable, uniqueSchema } from './postgresTestServer.js'
import { TcpProxy } from './tcpProxy.js'

const unavailable = postgresUnavailable()
const schemas: string[] = []
const journals: Journal[] = []
const proxies: TcpProxy[] = []

function journalOn(url: string, schema: string, options: { connectionTimeoutMs?: number } = {}): Journal {
  const journal = postgresJournal({ connectionString: url, schema, ...options })
  journals.push(journal)
  return journal
}

function freshSchema(): string {
  const schema = uniqueSchema()
  schemas.push(schema)
  return schema
}

async function proxied(): Promise<{ proxy: TcpProxy; url: string }> {
  const target = new URL(POSTGRES_URL!)
  const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) })
  proxies.push(proxy)
  await proxy.start()
  const url = new URL(POSTGRES_URL!)
  url.hostname = '127.0.0.1'
  url.port = String(proxy.port)
  return { proxy, url: url.toString() }
}

async function codeOf(operation: Promise<unknown>): Promise<string | undefined> {
  try {
    await operation
    return undefined
  } catch (error) {
    if (!isCapsuleError(error)) throw error
    return error.code
  }
}

afterEach(async () => {
  for (const journal of journals.splice(0)) await journal.close()
  for (const proxy of proxies.splice(0)) await proxy.stop()
  for (const schema of schemas.splice(0)) await adminQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
})

describe.skipIf(unavailable !== undefined)('postgresJournal against a real server', () => {
  test('hosts opening a fresh schema at once migrate it exactly once, under the advisory lock', async () => {
    const schema = freshSchema()
    const infos = await Promise.all([0, 1, 2, 3, 4].map(() => journalOn(POSTGRES_URL!, schema).open()))
    expect(infos).toEqual(Array(5).fill({ backend: 'postgres', schemaVersion: POSTGRES_SCHEMA_VERSION }))
    const { rows } = await adminQuery(`SELECT version, name FROM "${schema}".capsule_migrations`)
    expect(rows).toEqual([{ version: 1, name: 'journal' }])
  })

  test("a schema holding another application's tables is refused with JOURNAL_CORRUPT and left alone", async () => {
    const schema = freshSchema()
    await adminQuery(`CREATE SCHEMA "${schema}"`)
    await adminQuery(`CREATE TABLE "${schema}".orders (id int)`)
    const journal = journalOn(POSTGRES_URL!, schema)
    await expect(journal.open()).rejects.toMatchObject({
      code: 'JOURNAL_CORRUPT',
      details: { reason: 'foreign' },
    })
    const { rows } = await adminQuery(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1',
      [schema],
    )
    expect(rows).toEqual([{ table_name: 'orders' }])
  })

  test('no server listening: open fails JOURNAL_UNAVAILABLE, and succeeds once the server is there', async () => {
    const { proxy, url } = await proxied()
    await proxy.stop()
    const journal = journalOn(url, freshSchema(), { connectionTimeoutMs: 2000 })
    await expect(journal.open()).rejects.toMatchObject({ code: 'JOURNAL_UNAVAILABLE' })
    await proxy.start()
    expect((await journal.open()).backend).toBe('postgres')
  })

  test('the server gone mid-run: writes and waits fail JOURNAL_UNAVAILABLE and nothing is written; it works again after', async () => {
    const { proxy, url } = await proxied()
    const schema = freshSchema()
    const journal = journalOn(url, schema, { connectionTimeoutMs: 2000 })
    await journal.ensureSession({ key: 's', pythonHashSeed: 1, policyFingerprint: '' })
    const lease = (await journal.claimLease({ sessionKey: 's', owner: 'h', ttlMs: 60_000 }))!
    const { record } = await journal.createExecution({
      sessionKey: 's',
      code: 'x = 1',
      policyFingerprint: '',
    })
    const waiting = codeOf(journal.waitExecution(record.id))
    await new Promise((resolve) => setTimeout(resolve, 200))
    await proxy.stop()
    expect(await waiting).toBe('JOURNAL_UNAVAILABLE')
    const call = {
      executionId: record.id,
      capability: 'fs.write_file',
      argsHash: canonicalHash({ p: 1 }),
      ordinal: 0,
    }
    expect(await codeOf(journal.beginCall(lease, call))).toBe('JOURNAL_UNAVAILABLE')
    expect(await codeOf(journal.settleExecution(lease, record.id, { state: 'resolved', value: 1 }))).toBe(
      'JOURNAL_UNAVAILABLE',
    )
    expect(await codeOf(journal.getExecution(record.id))).toBe('JOURNAL_UNAVAILABLE')
    const calls = await adminQuery(`SELECT count(*)::int AS n FROM "${schema}".calls`)
    expect(calls.rows[0].n).toBe(0)
    await proxy.start()
    expect((await journal.beginCall(lease, call)).created).toBe(true)
    const again = journal.waitExecution(record.id, { timeoutMs: 10_000 })
    await new Promise((resolve) => setTimeout(resolve, 100))
    await journal.settleExecution(lease, record.id, { state: 'resolved', value: 2 })
    expect(await again).toMatchObject({ state: 'resolved', value: 2 })
  }, 60_000)

  test('a wait sends nothing to the server while it waits (LISTEN/NOTIFY, no polling) and wakes on a settle from another host', async () => {
    const { proxy, url } = await proxied()
    const schema = freshSchema()
    const waiter = journalOn(url, schema)
    const settler = journalOn(POSTGRES_URL!, schema)
    await settler.ensureSession({ key: 's', pythonHashSeed: 1, policyFingerprint: '' })
    const lease = (await settler.claimLease({ sessionKey: 's', owner: 'other-host', ttlMs: 60_000 }))!
    const { record } = await settler.createExecution({ sessionKey: 's', code: '', policyFingerprint: '' })
    await settler.createPromise(lease, { id: 'p', kind: 'input', executionId: record.id, payload: 'Name?' })
    const waited = waiter.waitPromise('p', { timeoutMs: 20_000 })
    await new Promise((resolve) => setTimeout(resolve, 300))
    const before = proxy.bytesFromClient
    await new Promise((resolve) => setTimeout(resolve, 1500))
    expect(proxy.bytesFromClient - before).toBe(0)
    const settledAt = Date.now()
    await settler.settlePromise('p', { state: 'resolved', value: 'Ada' })
    expect(await waited).toMatchObject({ state: 'resolved', value: 'Ada' })
    expect(Date.now() - settledAt).toBeLessThan(5000)
  }, 30_000)

  test('bad options are INVALID_OPTIONS', () => {
    for (const options of [
      {},
      { connectionString: 'x', pool: {} },
      { connectionString: POSTGRES_URL, schema: 'Bad-Name' },
      { connectionString: POSTGRES_URL, schema: 'x'.repeat(41) },
      { connectionString: POSTGRES_URL, synchronousCommit: 'local' },
    ]) {
      expect(() => postgresJournal(options as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      )
    }
  })
})

import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { isCapsuleError, type Journal } from '@capsule/core'
import { canonicalHash } from '@capsule/core/journal'
import Database from 'better-sqlite3'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { CAPSULE_APPLICATION_ID, SQLITE_SCHEMA_VERSION, sqliteJournal } from '../src/index.js'

const repo = path.resolve(import.meta.dirname, '../../..')
const child = path.join(import.meta.dirname, 'fixtures/journalChild.ts')

let dir: string
let file: string
const opened: Journal[] = []
const open = (options: Partial<Parameters<typeof sqliteJournal>[0]> = {}) => {
  const journal = sqliteJournal({ path: file, ...options })
  opened.push(journal)
  return journal
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'capsule-sqlite-'))
  file = path.join(dir, 'journal.db')
})
afterEach(async () => {
  for (const journal of opened.splice(0)) await journal.close()
  await rm(dir, { recursive: true, force: true })
})

async function codeOf(operation: Promise<unknown>): Promise<string | undefined> {
  try {
    await operation
    return undefined
  } catch (error) {
    if (!isCapsuleError(error)) throw error
    return error.code
  }
}

interface ChildRun {
  lines: string[]
  done: Promise<{ result?: unknown; error?: { code?: string } }>
  ready: Promise<void>
}

function runChild(...args: string[]): ChildRun {
  const proc = spawn(process.execPath, ['--conditions=@capsule/source', '--import', 'tsx', child, ...args], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  let stderr = ''
  let markReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => {
    markReady = resolve
  })
  let buffered = ''
  proc.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8')
    for (let index = buffered.indexOf('\n'); index >= 0; index = buffered.indexOf('\n')) {
      const line = buffered.slice(0, index)
      buffered = buffered.slice(index + 1)
      lines.push(line)
      if (line === 'ready' || line === 'waiting') markReady()
    }
  })
  proc.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const done = new Promise<{ result?: unknown; error?: { code?: string } }>((resolve, reject) => {
    proc.on('close', () => {
      const last = lines.at(-1)
      if (last?.startsWith('{')) resolve(JSON.parse(last))
      else reject(new Error(`child printed no result; stderr: ${stderr}`))
    })
  })
  return { lines, done, ready }
}

describe('sqliteJournal storage', () => {
  test('the file is in WAL mode, owned by its creator only (0600, its -wal and -shm too), and stamped as a Capsule journal', async () => {
    const journal = open()
    expect(await journal.open()).toEqual({ backend: 'sqlite', schemaVersion: SQLITE_SCHEMA_VERSION })
    await journal.ensureSession({ key: 's', pythonHashSeed: 1, policyFingerprint: '' })
    for (const name of ['journal.db', 'journal.db-wal', 'journal.db-shm']) {
      expect(((await stat(path.join(dir, name))).mode & 0o777).toString(8), name).toBe('600')
    }
    const raw = new Database(file, { readonly: true })
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(raw.pragma('application_id', { simple: true })).toBe(CAPSULE_APPLICATION_ID)
    expect(raw.prepare('SELECT version, name FROM capsule_migrations').all()).toEqual([
      { version: 1, name: 'journal' },
    ])
    raw.close()
  })

  test('a file that is not SQLite is refused with JOURNAL_CORRUPT and left as it was', async () => {
    const garbage = randomBytes(8192)
    await writeFile(file, garbage)
    const journal = open()
    await expect(journal.open()).rejects.toMatchObject({
      code: 'JOURNAL_CORRUPT',
      details: { reason: 'not-sqlite' },
    })
    expect(await codeOf(journal.getSession('s'))).toBe('JOURNAL_CORRUPT')
    const { readFile } = await import('node:fs/promises')
    expect((await readFile(file)).equals(garbage)).toBe(true)
  })

  test("another application's SQLite file is refused with JOURNAL_CORRUPT, its tables untouched", async () => {
    const other = new Database(file)
    other.exec('CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)')
    other.close()
    const journal = open()
    await expect(journal.open()).rejects.toMatchObject({
      code: 'JOURNAL_CORRUPT',
      details: { reason: 'foreign' },
    })
    const raw = new Database(file, { readonly: true })
    expect(raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()).toEqual([
      { name: 'customers' },
    ])
    raw.close()
  })

  test('a journal whose pages were damaged fails JOURNAL_CORRUPT, not a crash', async () => {
    const journal = open()
    await journal.ensureSession({ key: 's', pythonHashSeed: 1, policyFingerprint: '' })
    for (let index = 0; index < 200; index += 1) {
      await journal.createExecution({
        sessionKey: 's',
        code: `x = ${'y'.repeat(2000)}`,
        policyFingerprint: '',
      })
    }
    await journal.close()
    // Overwrite everything after the first page (the header stays valid).
    const { open: openFile } = await import('node:fs/promises')
    const handle = await openFile(file, 'r+')
    const { size } = await handle.stat()
    await handle.write(Buffer.alloc(size - 4096, 0xa5), 0, size - 4096, 4096)
    await handle.close()
    const damaged = open()
    const codes = [await codeOf(damaged.open()), await codeOf(damaged.listExecutions('s'))]
    expect(
      codes.some((code) => code === 'JOURNAL_CORRUPT'),
      codes.join(),
    ).toBe(true)
    expect(codes.every((code) => code === 'JOURNAL_CORRUPT' || code === undefined)).toBe(true)
  })

  test('a journal file in a missing directory is JOURNAL_UNAVAILABLE; bad options are INVALID_OPTIONS', async () => {
    const journal = sqliteJournal({ path: path.join(dir, 'no/such/dir/journal.db') })
    await expect(journal.open()).rejects.toMatchObject({ code: 'JOURNAL_UNAVAILABLE' })
    expect(() => sqliteJournal({ path: ':memory:' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    )
    expect(() => sqliteJournal({ path: file, synchronous: 'off' as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    )
    expect(() => sqliteJournal({ path: file, pollIntervalMs: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    )
  })

  test('with group commit, the writes of one turn share one transaction: far fewer WAL frames than one commit each', async () => {
    const frames = async (groupCommit: boolean) => {
      const target = path.join(dir, `frames-${groupCommit}.db`)
      const journal = sqliteJournal({ path: target, synchronous: 'full', groupCommit })
      opened.push(journal)
      await journal.ensureSession({ key: 's', pythonHashSeed: 1, policyFingerprint: '' })
      const lease = (await journal.claimLease({ sessionKey: 's', owner: 'h', ttlMs: 60_000 }))!
      const { record } = await journal.createExecution({ sessionKey: 's', code: '', policyFingerprint: '' })
      const raw = new Database(target)
      raw.pragma('wal_checkpoint(TRUNCATE)')
      const calls = Array.from({ length: 100 }, (_, ordinal) =>
        journal.beginCall(lease, {
          executionId: record.id,
          capability: 'x.y',
          argsHash: canonicalHash(1),
          ordinal,
        }),
      )
      expect((await Promise.all(calls)).every((call) => call.created)).toBe(true)
      const [{ log }] = raw.pragma('wal_checkpoint(PASSIVE)') as [{ log: number }]
      raw.close()
      return log
    }
    const grouped = await frames(true)
    const separate = await frames(false)
    expect(grouped * 10).toBeLessThan(separate)
  })

  test('a refused write in a group does not undo the others', async () => {
    const journal = open({ synchronous: 'full' })
    await journal.ensureSession({ key: 's', pythonHashSeed: 1, policyFingerprint: '' })
    const lease = (await journal.claimLease({ sessionKey: 's', owner: 'h', ttlMs: 60_000 }))!
    const { record } = await journal.createExecution({ sessionKey: 's', code: '', policyFingerprint: '' })
    const results = await Promise.allSettled([
      journal.beginCall(lease, {
        executionId: record.id,
        capability: 'x.y',
        argsHash: canonicalHash(1),
        ordinal: 0,
      }),
      journal.beginCall(
        { ...lease, epoch: lease.epoch + 5 },
        { executionId: record.id, capability: 'x.y', argsHash: canonicalHash(1), ordinal: 1 },
      ),
      journal.beginCall(lease, {
        executionId: record.id,
        capability: 'x.y',
        argsHash: canonicalHash(1),
        ordinal: 2,
      }),
    ])
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled'])
    expect((await journal.listCalls(record.id)).map((call) => call.ordinal)).toEqual([0, 2])
  })
})

describe('sqliteJournal across processes', () => {
  test('four processes claiming the same sessions at once: each session goes to exactly one', async () => {
    const seeding = open()
    const keys = Array.from({ length: 30 }, (_, index) => `s${index}`)
    for (const key of keys) await seeding.ensureSession({ key, pythonHashSeed: 1, policyFingerprint: '' })
    const children = [0, 1, 2, 3].map((index) => runChild('claim', file, `host-${index}`, ...keys))
    await Promise.all(children.map((c) => c.ready))
    await writeFile(`${file}.go`, '')
    const results = await Promise.all(children.map((c) => c.done))
    const epochs = results.map((r) => r.result as (number | null)[])
    for (const [index, key] of keys.entries()) {
      const winners = epochs.filter((claims) => claims[index] !== null)
      expect(winners.length, key).toBe(1)
      const session = await seeding.getSession(key)
      expect(session?.epoch).toBe(1)
      expect(session?.owner).toBe(`host-${epochs.findIndex((claims) => claims[index] !== null)}`)
    }
  }, 60_000)

  test('three processes submitting to one session get distinct sequences 1…N with no gap', async () => {
    const seeding = open()
    await seeding.ensureSession({ key: 'shared', pythonHashSeed: 1, policyFingerprint: '' })
    const results = await Promise.all([0, 1, 2].map(() => runChild('submit', file, 'shared', '20').done))
    const sequences = results.flatMap((r) => r.result as number[]).sort((a, b) => a - b)
    expect(sequences).toEqual(Array.from({ length: 60 }, (_, index) => index + 1))
  }, 60_000)

  test('a promise settled by another process wakes the wait in this one, and a wait in another process wakes on ours', async () => {
    const journal = open({ pollIntervalMs: 20 })
    await journal.ensureSession({ key: 's', pythonHashSeed: 1, policyFingerprint: '' })
    const lease = (await journal.claimLease({ sessionKey: 's', owner: 'h', ttlMs: 60_000 }))!
    const { record } = await journal.createExecution({ sessionKey: 's', code: '', policyFingerprint: '' })
    await journal.createPromise(lease, { id: 'p1', kind: 'input', executionId: record.id, payload: 'Name?' })
    await journal.createPromise(lease, { id: 'p2', kind: 'input', executionId: record.id, payload: 'Age?' })
    const waiting = journal.waitPromise('p1', { timeoutMs: 20_000 })
    expect((await runChild('settle-promise', file, 'p1', 'Ada').done).result).toBe(true)
    expect(await waiting).toMatchObject({ state: 'resolved', value: 'Ada' })

    const waiter = runChild('wait-promise', file, 'p2')
    await waiter.ready
    await journal.settlePromise('p2', { state: 'resolved', value: '36' })
    expect((await waiter.done).result).toBe('36')
  }, 60_000)
})

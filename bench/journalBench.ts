// The journal's cost per capability call, per backend: a durable call is recorded pending before it runs
// and settled before its result reaches Python, so one call is a beginCall and a settleCall. Measured
// alone (the latency a sync call in Python waits for) and gathered (many calls in flight, as
// `asyncio.gather` makes them: what group commit is for), plus reading back 1,000 recorded calls (what a
// recovery reads). The floor is the memory journal, measured in the same run. Then the same end to end:
// sync calls of durable sessions on memory and SQLite, and a recovery of 1,000 recorded calls.
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Capsule, type Journal, memoryJournal, type Session } from '@capsule/core'
import { canonicalHash } from '@capsule/core/journal'
import { postgresJournal } from '@capsule/journal-postgres'
import { sqliteJournal } from '@capsule/journal-sqlite'
import { defineCapability, defineProvider } from '@capsule/provider-sdk'
import { z } from 'zod'

/** One backend's figures. */
export interface JournalBenchResult {
  /** e.g. `memory`, `sqlite (synchronous NORMAL)`, `postgres (synchronous_commit on)`. */
  readonly backend: string
  /** Median µs of one awaited beginCall + settleCall pair. */
  readonly callP50Micros: number
  /** 99th percentile µs of the same. */
  readonly callP99Micros: number
  /** Calls (begin + settle each) per second with `gathered` of them in flight at once. */
  readonly gatheredCallsPerSecond: number
  /** How many calls were in flight (PostgreSQL: at most 256, its pool's queue times out beyond). */
  readonly gathered: number
  /** ms to read back the 1,000 recorded calls of one execution (listCalls). */
  readonly read1000CallsMs: number
  /** callP50Micros divided by the memory journal's. */
  readonly callRatioToMemory: number
}

/** Options of {@link runJournalBench}. */
export interface JournalBenchOptions {
  /** Sequential calls measured per backend (default 400). */
  readonly calls?: number
  /** Calls in flight at once in the gathered measurement (default 2,000). */
  readonly gathered?: number
  /** A PostgreSQL server to include (default: CAPSULE_TEST_POSTGRES_URL; skipped when neither is set). */
  readonly postgresUrl?: string
}

interface Target {
  readonly backend: string
  /** At most this many calls in flight (a pool's waiting queue times out like a connection attempt). */
  readonly maxGathered?: number
  open(): Promise<{ journal: Journal; cleanup(): Promise<void> }>
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0

async function measure(target: Target, options: Required<Omit<JournalBenchOptions, 'postgresUrl'>>) {
  const { journal, cleanup } = await target.open()
  try {
    await journal.open()
    const sessionKey = `bench-${Date.now()}`
    await journal.ensureSession({ key: sessionKey, pythonHashSeed: 0, policyFingerprint: 'bench' })
    const lease = (await journal.claimLease({ sessionKey, owner: 'bench', ttlMs: 600_000 }))!
    const execution = async () =>
      (await journal.createExecution({ sessionKey, code: 'bench', policyFingerprint: 'bench' })).record.id
    const argsHash = canonicalHash({ path: 'data.csv' })
    const value = { text: 'a,b,c\n1,2,3\n', bytes: new Uint8Array(64) }

    const sequential = await execution()
    const latencies: number[] = []
    for (let ordinal = 0; ordinal < options.calls; ordinal += 1) {
      const started = process.hrtime.bigint()
      const { record } = await journal.beginCall(lease, {
        executionId: sequential,
        capability: 'fs.read_file',
        argsHash,
        ordinal,
      })
      await journal.settleCall(lease, sequential, record.key, { state: 'resolved', value })
      latencies.push(Number(process.hrtime.bigint() - started) / 1000)
    }
    latencies.sort((a, b) => a - b)

    const gathered = await execution()
    const inFlight = Math.min(options.gathered, target.maxGathered ?? options.gathered)
    const started = process.hrtime.bigint()
    await Promise.all(
      Array.from({ length: inFlight }, async (_, ordinal) => {
        const { record } = await journal.beginCall(lease, {
          executionId: gathered,
          capability: 'fs.read_file',
          argsHash,
          ordinal,
        })
        await journal.settleCall(lease, gathered, record.key, { state: 'resolved', value })
      }),
    )
    const gatheredSeconds = Number(process.hrtime.bigint() - started) / 1e9

    const recorded = await execution()
    await Promise.all(
      Array.from({ length: 1000 }, async (_, ordinal) => {
        const { record } = await journal.beginCall(lease, {
          executionId: recorded,
          capability: 'fs.read_file',
          argsHash,
          ordinal,
        })
        await journal.settleCall(lease, recorded, record.key, { state: 'resolved', value })
      }),
    )
    const readStarted = process.hrtime.bigint()
    const calls = await journal.listCalls(recorded)
    const readMs = Number(process.hrtime.bigint() - readStarted) / 1e6
    if (calls.length !== 1000) throw new Error(`${target.backend} read back ${calls.length} of 1000 calls`)

    return {
      backend: target.backend,
      callP50Micros: percentile(latencies, 50),
      callP99Micros: percentile(latencies, 99),
      gatheredCallsPerSecond: inFlight / gatheredSeconds,
      gathered: inFlight,
      read1000CallsMs: readMs,
    }
  } finally {
    await journal.close()
    await cleanup()
  }
}

function sqliteTarget(backend: string, synchronous: 'normal' | 'full'): Target {
  return {
    backend,
    async open() {
      const dir = await mkdtemp(path.join(tmpdir(), 'capsule-journal-bench-'))
      return {
        journal: sqliteJournal({ path: path.join(dir, 'journal.db'), synchronous }),
        cleanup: () => rm(dir, { recursive: true, force: true }),
      }
    },
  }
}

interface PgModule {
  Client: new (config: {
    connectionString: string
  }) => {
    connect(): Promise<void>
    query(sql: string): Promise<unknown>
    end(): Promise<void>
  }
}
const requireFromPostgresJournal = createRequire(
  new URL('../packages/journal-postgres/package.json', import.meta.url),
)

function postgresTarget(url: string, synchronousCommit: 'on' | 'off'): Target {
  return {
    backend: `postgres (synchronous_commit ${synchronousCommit})`,
    maxGathered: 256,
    async open() {
      const schema = `capsule_bench_${synchronousCommit}_${process.pid}`
      const journal = postgresJournal({
        connectionString: url,
        schema,
        synchronousCommit,
        maxConnections: 16,
      })
      return {
        journal,
        async cleanup() {
          // The journal has no drop: the bench removes its schema with a plain client, the pg the package uses.
          const { Client } = requireFromPostgresJournal('pg') as PgModule
          const client = new Client({ connectionString: url })
          await client.connect()
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
          await client.end()
        },
      }
    },
  }
}

/**
 * Runs the journal bench: memory, SQLite (synchronous NORMAL), SQLite (synchronous FULL with group
 * commit) and, when a server is configured, PostgreSQL with synchronous_commit off and on. Backends run one
 * after another in this process; nothing is printed.
 */
export async function runJournalBench(options: JournalBenchOptions = {}): Promise<JournalBenchResult[]> {
  const settings = { calls: options.calls ?? 400, gathered: options.gathered ?? 2000 }
  const postgresUrl = options.postgresUrl ?? process.env.CAPSULE_TEST_POSTGRES_URL
  const targets: Target[] = [
    { backend: 'memory', open: async () => ({ journal: memoryJournal(), cleanup: async () => {} }) },
    sqliteTarget('sqlite (synchronous NORMAL)', 'normal'),
    sqliteTarget('sqlite (synchronous FULL, group commit)', 'full'),
    ...(postgresUrl ? [postgresTarget(postgresUrl, 'off'), postgresTarget(postgresUrl, 'on')] : []),
  ]
  const measured = []
  for (const target of targets) measured.push(await measure(target, settings))
  const floor = measured[0]!.callP50Micros
  return measured.map((result) => ({ ...result, callRatioToMemory: result.callP50Micros / floor }))
}

/** A durable session's figures: sync calls journaled on memory and on SQLite, and a recovery's time. */
export interface DurableSessionBenchResult {
  /** Median µs of a sync capability call in a durable session on the memory journal, timed in Python. */
  readonly memoryCallP50Micros: number
  /** The same on SQLite (synchronous NORMAL). */
  readonly sqliteCallP50Micros: number
  /** ms for `capsule.session({ key })` to take up a session with 1,000 recorded calls in a fresh host. */
  readonly recover1000CallsMs: number
}

const noopProvider = defineProvider({
  name: 'bench',
  version: '1.0.0',
  capabilities: [
    defineCapability({
      name: 'noop',
      level: 'sandbox',
      description: 'Return at once.',
      input: z.object({}),
      output: z.null(),
      handler: () => null,
    }),
  ],
})

async function pythonTimes(session: Session, count: number): Promise<number[]> {
  const code = [
    'import time as _t, json as _j',
    '_ts = []',
    `for _ in range(${count}):`,
    '    _s = _t.perf_counter(); noop(); _ts.append(_t.perf_counter() - _s)',
    'print(_j.dumps([round(x * 1e6, 3) for x in _ts]))',
  ].join('\n')
  const result = await session.run(code)
  if (result.status !== 'ok') throw new Error(`bench cell failed: ${result.error?.evalue}`)
  return JSON.parse(result.stdout) as number[]
}

/**
 * Durable sessions end to end: sync calls in rounds alternating between a session on the memory journal and
 * one on SQLite (so load falls on both), then a session whose cell made 1,000 calls taken up by a new host
 * (a fresh worker, the cell replayed with every call answered from the journal).
 */
export async function runDurableSessionBench(options: {
  python: string
  calls: number
}): Promise<DurableSessionBenchResult> {
  const dir = await mkdtemp(path.join(tmpdir(), 'capsule-durable-bench-'))
  const file = path.join(dir, 'journal.db')
  const open = (journal: Journal, hostId = 'bench') =>
    new Capsule({ python: options.python, sandbox: 'none', providers: [noopProvider], journal, hostId })
  const memory = open(memoryJournal())
  const sqlite = open(sqliteJournal({ path: file }))
  try {
    const sessions = [await memory.session({ key: 'm' }), await sqlite.session({ key: 's' })] as const
    const times: [number[], number[]] = [[], []]
    const round = Math.max(10, Math.floor(options.calls / 5))
    for (let done = 0; done < options.calls; done += round) {
      for (const index of [0, 1] as const) times[index].push(...(await pythonTimes(sessions[index], round)))
    }
    const median = (values: number[]) =>
      percentile(
        [...values].sort((a, b) => a - b),
        50,
      )
    const recorded = await sqlite.session({ key: 'recover-me' })
    const made = await recorded.run('for _ in range(1000):\n    noop()')
    if (made.status !== 'ok') throw new Error(`bench cell failed: ${made.error?.evalue}`)
    await sqlite.close()
    const again = open(sqliteJournal({ path: file }))
    try {
      const started = performance.now()
      const session = await again.session({ key: 'recover-me' })
      const recoverMs = performance.now() - started
      if ((await session.run('1')).status !== 'ok') throw new Error('the recovered session does not run')
      return {
        memoryCallP50Micros: median(times[0]),
        sqliteCallP50Micros: median(times[1]),
        recover1000CallsMs: recoverMs,
      }
    } finally {
      await again.close()
    }
  } finally {
    await memory.close()
    await sqlite.close()
    await rm(dir, { recursive: true, force: true })
  }
}

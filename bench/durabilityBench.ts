// The journal bench (journalBench.ts) as a registry entry: each backend's cost per durable call against
// the memory journal measured in the same run. Imported when it runs, so a backend whose package cannot
// load fails this benchmark only.
import { againstFloor, type Figure, floorFigure, type Outcome } from './figures.js'
import type { Benchmark } from './registry.js'

/** `sqlite (synchronous NORMAL)` → `sqlite_synchronous_normal`: a stable id part. */
export function backendSlug(backend: string): string {
  return backend
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '')
}

/** `journal`: beginCall + settleCall per backend, alone and gathered, and reading 1,000 calls back. */
export const durabilityBench: Benchmark = {
  name: 'journal',
  summary: 'journal cost per durable call per backend (memory, SQLite, PostgreSQL when configured)',
  async run(context): Promise<Outcome> {
    const { runJournalBench, runDurableSessionBench } = await import('./journalBench.js')
    const results = await runJournalBench({
      calls: context.iterations(400, 50),
      gathered: context.iterations(2000, 100),
    })
    const memory = results.find((result) => result.backend === 'memory')
    if (!memory) throw new Error('the journal bench measured no memory journal to hold the others against')
    const callFloor = floorFigure(
      'journal.memory.call.p50',
      'memory journal, one call p50',
      memory.callP50Micros,
      'µs',
      'lower',
    )
    const gatheredFloor = floorFigure(
      'journal.memory.gathered',
      `memory journal, ${memory.gathered} calls in flight`,
      memory.gatheredCallsPerSecond,
      'calls/s',
      'higher',
    )
    const figures: Figure[] = [callFloor, gatheredFloor]
    for (const result of results) {
      if (result === memory) continue
      const id = `journal.${backendSlug(result.backend)}`
      figures.push(
        againstFloor(callFloor, {
          id: `${id}.call.p50`,
          label: `${result.backend}, one call p50`,
          value: result.callP50Micros,
        }),
        {
          id: `${id}.call.p99`,
          label: `${result.backend}, one call p99`,
          value: result.callP99Micros,
          unit: 'µs',
          better: 'lower',
        },
        againstFloor(gatheredFloor, {
          id: `${id}.gathered`,
          label: `${result.backend}, ${result.gathered} calls in flight`,
          value: result.gatheredCallsPerSecond,
          // The mode that survives power loss must still reach this with group commit.
          ...(result.backend.includes('FULL') ? { target: { kind: 'at-least' as const, limit: 5000 } } : {}),
        }),
        {
          id: `${id}.read_1000`,
          label: `${result.backend}, read back 1,000 calls`,
          value: result.read1000CallsMs,
          unit: 'ms',
          better: 'lower',
        },
      )
    }
    const session = await runDurableSessionBench({
      python: context.python,
      calls: context.iterations(500, 50),
    })
    const sessionFloor = floorFigure(
      'journal.session.memory.call.p50',
      'durable session on the memory journal, sync call p50 (timed in Python)',
      session.memoryCallP50Micros,
      'µs',
      'lower',
    )
    figures.push(
      sessionFloor,
      againstFloor(sessionFloor, {
        id: 'journal.session.sqlite.call.p50',
        label: 'durable session on SQLite (synchronous NORMAL), sync call p50',
        value: session.sqliteCallP50Micros,
        target: { kind: 'ratio-at-most', limit: 2 },
      }),
      {
        id: 'journal.session.sqlite.recover_1000',
        label: 'SQLite: a session with 1,000 recorded calls taken up by a new host',
        value: session.recover1000CallsMs,
        unit: 'ms',
        better: 'lower',
        target: { kind: 'at-most', limit: 1000 },
      },
    )
    const skipped =
      results.some((result) => result.backend.startsWith('postgres')) || process.env.CAPSULE_TEST_POSTGRES_URL
        ? []
        : [
            {
              id: 'journal.postgres',
              label: 'postgres journal',
              reason: 'CAPSULE_TEST_POSTGRES_URL is not set',
            },
          ]
    return { figures, skipped }
  },
}

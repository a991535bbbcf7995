// Output throughput: one 50 MB write to sys.stdout, and many small prints, all the way into the
// ExecutionResult. The target is absolute: there is no floor a run could be fairly divided by. Beside it,
// in alternating rounds, the same cell without the write: building a 50 MB str is the cell's own work, and
// on a machine where touching fresh memory is slow it alone can take most of the time.
import { Capsule, type Session } from '../packages/core/src/index.js'
import { type Figure, percentile } from './figures.js'
import type { Benchmark } from './registry.js'

const MEGABYTES = 50

async function megabytesPerSecond(session: Session, code: string, expectBytes?: number): Promise<number> {
  const start = performance.now()
  const result = await session.run(code)
  const seconds = (performance.now() - start) / 1000
  if (result.status !== 'ok') throw new Error(`bench cell failed: ${result.error?.evalue}`)
  if (expectBytes !== undefined && result.stdout.length !== expectBytes)
    throw new Error(`stdout lost bytes: ${result.stdout.length} of ${expectBytes}`)
  return result.stdout.length / 1024 / 1024 / seconds
}

/** MB/s of a cell that builds `bytes` of text and drops it: what the write figure's cell does besides writing. */
async function buildOnlyMegabytesPerSecond(session: Session, bytes: number): Promise<number> {
  const start = performance.now()
  const result = await session.run(`_s = "x" * ${bytes}\ndel _s\nNone`)
  const seconds = (performance.now() - start) / 1000
  if (result.status !== 'ok') throw new Error(`bench cell failed: ${result.error?.evalue}`)
  return bytes / 1024 / 1024 / seconds
}

/** `stdout`: a single large write and many small prints. */
export const stdoutBench: Benchmark = {
  name: 'stdout',
  summary: `one ${MEGABYTES} MB sys.stdout.write and 500k prints of 100 B, into the result`,
  async run(context) {
    const capsule = new Capsule({
      python: context.python,
      sandbox: 'none',
      level: 'standard',
      limits: { maxOutputBytes: 64 * 1024 * 1024, executeTimeoutMs: 0 },
    })
    try {
      const session = await capsule.session()
      const bytes = MEGABYTES * 1024 * 1024
      const big = `import sys\nsys.stdout.write("x" * ${bytes})\nNone`
      await megabytesPerSecond(session, big, bytes)
      const writes: number[] = []
      const builds: number[] = []
      for (let i = 0; i < context.iterations(3, 1); i += 1) {
        builds.push(await buildOnlyMegabytesPerSecond(session, bytes))
        writes.push(await megabytesPerSecond(session, big, bytes))
      }
      const prints = await megabytesPerSecond(
        session,
        `for _ in range(${context.iterations(500_000, 10_000)}):\n    print("x" * 99)`,
      )
      const figures: Figure[] = [
        {
          id: 'stdout.single_write',
          label: `stdout, one ${MEGABYTES} MB write (p50 of ${writes.length})`,
          value: percentile(writes, 50),
          unit: 'MB/s',
          better: 'higher',
          target: { kind: 'at-least', limit: 300 },
        },
        {
          id: 'stdout.build_only',
          label: `the same cell building its ${MEGABYTES} MB str, without the write (p50 of ${builds.length})`,
          value: percentile(builds, 50),
          unit: 'MB/s',
          better: 'higher',
        },
        {
          id: 'stdout.small_prints',
          label: 'stdout, prints of 100 B',
          value: prints,
          unit: 'MB/s',
          better: 'higher',
        },
      ]
      return { figures, skipped: [] }
    } finally {
      await capsule.close()
    }
  },
}

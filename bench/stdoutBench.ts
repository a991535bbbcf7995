// Output throughput: one 50 MB write to sys.stdout, and many small prints, all the way into the
// ExecutionResult. The target is absolute: there is no floor a run could be fairly divided by. The timed
// write sends a str built in an earlier cell, so the figure is the write's alone; beside it, in
// alternating rounds, the cell that builds its 50 MB str and writes it (on a machine where touching fresh
// memory is slow, building the str alone can take as long as the write) and the build without the write.
import { Capsule, type Session } from '@capsule/core'
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
      const built = await session.run(`import sys\n_capsule_bench_text = "x" * ${bytes}\nNone`)
      if (built.status !== 'ok') throw new Error(`bench setup failed: ${built.error?.evalue}`)
      const write = 'sys.stdout.write(_capsule_bench_text)\nNone'
      const buildAndWrite = `sys.stdout.write("x" * ${bytes})\nNone`
      // Warm-up: the first few 50 MB results grow the host's heap and the worker's; a long-lived host
      // has done that long before.
      for (let i = 0; i < context.iterations(3, 1); i += 1) await megabytesPerSecond(session, write, bytes)
      const writes: number[] = []
      const buildAndWrites: number[] = []
      const builds: number[] = []
      for (let i = 0; i < context.iterations(3, 1); i += 1) {
        builds.push(await buildOnlyMegabytesPerSecond(session, bytes))
        buildAndWrites.push(await megabytesPerSecond(session, buildAndWrite, bytes))
        writes.push(await megabytesPerSecond(session, write, bytes))
      }
      await session.run('del _capsule_bench_text')
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
          id: 'stdout.build_and_write',
          label: `the cell building its ${MEGABYTES} MB str and writing it (p50 of ${buildAndWrites.length})`,
          value: percentile(buildAndWrites, 50),
          unit: 'MB/s',
          better: 'higher',
        },
        {
          id: 'stdout.build_only',
          label: `the cell building its ${MEGABYTES} MB str, without the write (p50 of ${builds.length})`,
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

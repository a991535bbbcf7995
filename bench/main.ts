// `pnpm bench`: every Capsule figure next to a baseline measured in the same run.
// Set CAPSULE_PYTHON to choose the interpreter (default: one with msgpack when there is one).
import { spawnSync } from 'node:child_process'
import { binary, defineCapability, defineProvider } from '@capsule/provider-sdk'
import { z } from 'zod'
import { Capsule, probeSandbox, type Session } from '../packages/core/src/index.js'
import { benchFetch } from './fetchBench.js'
import { rawPipelined, rawRoundTrips, rawRoundTripsFromPython } from './rawPipe.js'
import { percentile, printTable, type Row } from './report.js'
import { benchScience } from './scienceBench.js'

function pickPython(): string {
  if (process.env.CAPSULE_PYTHON) return process.env.CAPSULE_PYTHON
  for (const candidate of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(candidate, ['-c', 'import msgpack'], { stdio: 'ignore' }).status === 0) return candidate
  }
  return 'python3'
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
    defineCapability({
      name: 'blob',
      level: 'sandbox',
      description: 'Return n bytes.',
      input: z.object({ n: z.number().int().min(0) }),
      output: binary(),
      handler: ({ n }) => new Uint8Array(n),
    }),
  ],
})

async function timeRuns(session: Session, code: string, count: number): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < count; i += 1) {
    const start = performance.now()
    const result = await session.run(code)
    if (result.status !== 'ok') throw new Error(`bench cell failed: ${result.error?.evalue}`)
    times.push((performance.now() - start) * 1000)
  }
  return times
}

async function pythonTimed(session: Session, code: string): Promise<Record<string, number>> {
  const result = await session.run(code)
  if (result.status !== 'ok') throw new Error(`bench cell failed: ${result.error?.traceback.join('')}`)
  return JSON.parse(String(result.value?.['text/plain']).slice(1, -1))
}

// Issue 7: sandbox start-up cost, warm acquisition, and churn through a small pool.
async function poolBench(python: string): Promise<Row[]> {
  const rows: Row[] = []
  const startup = async (sandbox: 'none' | 'bwrap') => {
    const capsule = new Capsule({ python, sandbox, level: 'standard' })
    const times: number[] = []
    try {
      for (let i = 0; i < 15; i += 1) {
        const session = await capsule.session()
        times.push(session.info().startupMs ?? Number.NaN)
        await session.close()
      }
    } finally {
      await capsule.close()
    }
    return percentile(times, 50)
  }
  const plain = await startup('none')
  rows.push({ name: '(7) spawn-to-ready, no sandbox p50', value: plain, unit: 'ms', baseline: 'baseline' })
  const probe = await probeSandbox()
  if (probe.available) {
    const sandboxed = await startup('bwrap')
    rows.push({
      name: '(7) spawn-to-ready, bubblewrap p50',
      value: sandboxed,
      unit: 'ms',
      ratio: sandboxed / plain,
      target: `≤ baseline + 8 ms (got +${(sandboxed - plain).toFixed(1)} ms)`,
    })
  }
  const sandbox = probe.available ? 'bwrap' : 'none'
  const warm = new Capsule({ python, sandbox, pool: { min: 2, max: 8 } })
  try {
    const acquire: number[] = []
    for (let i = 0; i < 30; i += 1) {
      while (warm.info().pool.warm < 2) await new Promise((resolve) => setTimeout(resolve, 5))
      const started = performance.now()
      const session = await warm.session()
      acquire.push(performance.now() - started)
      await session.close()
    }
    rows.push({
      name: `(7) warm capsule.session() p50 (${sandbox})`,
      value: percentile(acquire, 50),
      unit: 'ms',
      target: '≤ 1 ms',
    })
  } finally {
    await warm.close()
  }
  const pooled = new Capsule({ python, sandbox, pool: { min: 4, max: 4 } })
  try {
    const latencies: number[] = []
    const started = performance.now()
    await Promise.all(
      Array.from({ length: 200 }, async () => {
        const t = performance.now()
        const session = await pooled.session()
        await session.run('sum(range(1000))')
        await session.close()
        latencies.push(performance.now() - t)
      }),
    )
    const seconds = (performance.now() - started) / 1000
    rows.push({
      name: `(7) 200 short sessions through a pool of 4 (${sandbox})`,
      value: 200 / seconds,
      unit: 'sessions/s',
    })
    rows.push({ name: '(7) … per-session latency p99', value: percentile(latencies, 99), unit: 'ms' })
  } finally {
    await pooled.close()
  }
  return rows
}

async function main(): Promise<void> {
  const python = pickPython()
  const sandbox = (process.env.CAPSULE_BENCH_SANDBOX as 'none' | 'bwrap' | undefined) ?? 'none'
  const capsule = new Capsule({
    python,
    sandbox,
    level: 'standard',
    providers: [noopProvider],
    limits: { maxOutputBytes: 64 * 1024 * 1024, executeTimeoutMs: 0 },
  })
  const session = await capsule.session()
  const info = session.info()
  console.log(
    `Python ${info.python} (${python}), codec ${info.codec}, sandbox ${info.sandbox}, ${process.platform} ${process.arch}\n`,
  )
  const rows: Row[] = []

  // (a) the floor
  await rawRoundTrips(python, 500)
  const floor = percentile(await rawRoundTrips(python, 5000), 50)
  const floorFromPython = await rawRoundTripsFromPython(python, 5000)
  const floorPipelined = await rawPipelined(python, 100_000)
  rows.push({
    name: '(a) raw pipe round trip, Node-initiated p50',
    value: floor,
    unit: 'µs',
    baseline: 'floor',
  })
  rows.push({
    name: '(a) raw pipe round trip, Python-initiated p50',
    value: floorFromPython.p50,
    unit: 'µs',
    baseline: 'floor',
  })
  rows.push({
    name: '(a) raw pipe pipelined small frames',
    value: floorPipelined,
    unit: 'frames/s',
    baseline: 'floor',
  })

  // (b) run('1+1')
  await timeRuns(session, '1+1', 500)
  const runTimes = await timeRuns(session, '1+1', 5000)
  const p50 = percentile(runTimes, 50)
  rows.push({
    name: "(b) session.run('1+1') p50",
    value: p50,
    unit: 'µs',
    ratio: p50 / floor,
    target: '≤ 1.5× floor',
  })
  rows.push({ name: "(b) session.run('1+1') p99", value: percentile(runTimes, 99), unit: 'µs' })
  const sequentialStart = performance.now()
  for (let i = 0; i < 5000; i += 1) await session.run('1+1')
  const perSecond = 5000 / ((performance.now() - sequentialStart) / 1000)
  rows.push({
    name: '(b) sequential executions on one session',
    value: perSecond,
    unit: 'exec/s',
    target: '≥ 8,000',
  })

  // (c) top-level await
  await session.run('import asyncio')
  const awaitTimes = await timeRuns(session, 'await asyncio.sleep(0)', 2000)
  rows.push({
    name: '(c) top-level-await cell p50',
    value: percentile(awaitTimes, 50),
    unit: 'µs',
    ratio: percentile(awaitTimes, 50) / floor,
  })

  // (d) spawn to ready
  const startups: number[] = []
  for (let i = 0; i < 20; i += 1) {
    const fresh = await capsule.session()
    startups.push(fresh.info().startupMs ?? Number.NaN)
    await fresh.close()
  }
  rows.push({
    name: '(d) spawn-to-ready p50',
    value: percentile(startups, 50),
    unit: 'ms',
    target: '≤ 25 ms',
  })

  // (e) stdout throughput
  const megabytes = 50
  const printStart = performance.now()
  const printed = await session.run(`import sys\nsys.stdout.write("x" * ${megabytes * 1024 * 1024})\nNone`)
  const printSeconds = (performance.now() - printStart) / 1000
  if (printed.stdout.length !== megabytes * 1024 * 1024)
    throw new Error(`stdout lost bytes: ${printed.stdout.length}`)
  rows.push({
    name: `(e) stdout throughput, one ${megabytes} MB write`,
    value: megabytes / printSeconds,
    unit: 'MB/s',
    target: '≥ 200',
  })
  const lineStart = performance.now()
  const lines = await session.run('for _ in range(500_000):\n    print("x" * 99)')
  rows.push({
    name: '(e) stdout throughput, 500k prints of 100 B',
    value: lines.stdout.length / 1024 / 1024 / ((performance.now() - lineStart) / 1000),
    unit: 'MB/s',
  })

  // Capability calls (no-op provider)
  const syncCalls = await pythonTimed(
    session,
    'import time, json\nts = []\nfor _ in range(5000):\n    t = time.perf_counter(); noop(); ts.append(time.perf_counter() - t)\nts.sort()\njson.dumps({"p50": ts[2500] * 1e6, "p99": ts[4950] * 1e6})',
  )
  rows.push({
    name: 'capability round trip, sync p50',
    value: syncCalls.p50!,
    unit: 'µs',
    ratio: syncCalls.p50! / floorFromPython.p50,
    target: '≤ 1.5× floor (Python-initiated)',
  })
  rows.push({
    name: 'capability round trip, sync p99',
    value: syncCalls.p99!,
    unit: 'µs',
    ratio: syncCalls.p99! / floorFromPython.p99,
  })
  const asyncCalls = await pythonTimed(
    session,
    'import time, json\nts = []\nfor _ in range(3000):\n    t = time.perf_counter(); await noop(); ts.append(time.perf_counter() - t)\nts.sort()\njson.dumps({"p50": ts[1500] * 1e6, "p99": ts[2970] * 1e6})',
  )
  rows.push({
    name: 'capability round trip, async p50',
    value: asyncCalls.p50!,
    unit: 'µs',
    ratio: asyncCalls.p50! / floorFromPython.p50,
    target: '≤ 1.5× floor (Python-initiated)',
  })
  const gathered = await pythonTimed(
    session,
    'import time, json\nt = time.perf_counter()\nfor _ in range(5):\n    await asyncio.gather(*[noop() for _ in range(10_000)])\njson.dumps({"rate": 50_000 / (time.perf_counter() - t)})',
  )
  rows.push({
    name: 'capability calls pipelined with gather',
    value: gathered.rate!,
    unit: 'calls/s',
    ratio: gathered.rate! / floorPipelined,
    target: '≥ 50,000',
  })
  const bytesResult = await pythonTimed(
    session,
    'import time, json\nblob(1 << 20)\nt = time.perf_counter()\nfor _ in range(50):\n    b = blob(1 << 20)\njson.dumps({"rate": 50 / (time.perf_counter() - t)})',
  )
  rows.push({
    name: 'capability 1 MiB bytes result',
    value: bytesResult.rate!,
    unit: 'MB/s',
    target: '≥ 500 (msgpack)',
  })

  await capsule.close()
  rows.push(...(await benchFetch(python)))
  rows.push(...(await poolBench(python)))
  // The scientific stack comes from the distribution, so it is measured with /usr/bin/python3.
  const scienceSandbox = (await probeSandbox()).available ? 'bwrap' : 'none'
  rows.push(...(await benchScience('/usr/bin/python3', scienceSandbox)))
  printTable(rows)
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})

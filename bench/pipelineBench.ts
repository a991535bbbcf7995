// The call pipeline against the pipe floor, per wire codec: run('1+1') against the Node-initiated floor,
// a sync capability call against the Python-initiated floor, and gathered calls against pipelined frames.
// Floor and figure are measured in alternating rounds with the same interpreter, so load from anything
// else on the machine falls on both.
import { join } from 'node:path'
import { Capsule, type Session } from '@capsule/core'
import { binary, defineCapability, defineProvider } from '@capsule/provider-sdk'
import { z } from 'zod'
import { againstFloor, type Figure, floorFigure, type Outcome, percentile } from './figures.js'
import { NodeInitiatedFloor, PythonInitiatedFloor } from './rawPipe.js'
import type { BenchCodec, BenchContext, Benchmark } from './registry.js'
import { profiledCell, saveCellProfile, summarizeWorkerProfile, WORKER_PROFILE_ENV } from './workerProfile.js'

/** What the `blob` capability returns slices of. */
const HELD_BYTES = new Uint8Array(1024 * 1024).fill(0x5a)

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
    // A provider that already holds its bytes (a cache, a file read earlier): the call path's own cost.
    defineCapability({
      name: 'blob',
      level: 'sandbox',
      description: 'Return n bytes (at most 1 MiB) it holds.',
      input: z.object({ n: z.number().int().min(0).max(HELD_BYTES.byteLength) }),
      output: binary(),
      handler: ({ n }) => HELD_BYTES.subarray(0, n),
    }),
    // The same with n fresh bytes per call: on a VM where first touch of memory is slow, that alone is
    // most of the time.
    defineCapability({
      name: 'fresh_blob',
      level: 'sandbox',
      description: 'Return n new zero bytes.',
      input: z.object({ n: z.number().int().min(0) }),
      output: binary(),
      handler: ({ n }) => new Uint8Array(n),
    }),
  ],
})

/** Samples of each latency figure and of its floor. */
const SAMPLES = 5000
/**
 * Python-initiated floor and capability calls alternate in rounds this small (they run in two processes,
 * so they cannot alternate call by call), so a burst of load elsewhere falls on both, not on one.
 */
const CALLS_PER_ROUND = 50
/** Calls per asyncio.gather in the pipelined figure. */
const GATHER_WIDTH = 10_000
/** Frames the pipelined floor keeps in flight. */
const FLOOR_WINDOW = 256

async function run(session: Session, code: string): Promise<string> {
  const result = await session.run(code)
  if (result.status !== 'ok') throw new Error(`bench cell failed: ${result.error?.traceback.join('')}`)
  return result.stdout
}

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

/** Per-call latencies in µs, timed in Python around `call` (a statement). */
async function timeCalls(session: Session, call: string, count: number): Promise<number[]> {
  const code = [
    'import time as _t, json as _j',
    '_ts = []',
    `for _ in range(${count}):`,
    `    _s = _t.perf_counter(); ${call}; _ts.append(_t.perf_counter() - _s)`,
    'print(_j.dumps([round(x * 1e6, 3) for x in _ts]))',
  ].join('\n')
  return JSON.parse(await run(session, code)) as number[]
}

const gatherCode = (repeats: number) =>
  [
    'import asyncio, time as _t',
    '_s = _t.perf_counter()',
    `for _ in range(${repeats}):`,
    `    await asyncio.gather(*[noop() for _ in range(${GATHER_WIDTH})])`,
    `print(${repeats * GATHER_WIDTH} / (_t.perf_counter() - _s))`,
  ].join('\n')

async function measureCodec(context: BenchContext, codec: BenchCodec): Promise<Figure[]> {
  const { python } = context
  const workerProfile = context.profileDir
    ? join(context.profileDir, `worker-${codec}-main.pstats`)
    : undefined
  const capsule = new Capsule({
    python,
    codec,
    sandbox: 'none',
    level: 'standard',
    providers: [noopProvider],
    limits: { maxOutputBytes: 64 * 1024 * 1024, executeTimeoutMs: 0 },
    ...(workerProfile ? { env: { [WORKER_PROFILE_ENV]: workerProfile } } : {}),
  })
  const nodeFloor = new NodeInitiatedFloor(python)
  const pythonFloor = new PythonInitiatedFloor(python)
  const awakeNodeFloor = new NodeInitiatedFloor(python, true)
  const awakePythonFloor = new PythonInitiatedFloor(python, true)
  const id = (name: string) => `pipeline.${codec}.${name}`
  const label = (name: string) => `${name} [${codec}]`
  try {
    const session = await capsule.session()
    if (session.info().codec !== codec)
      throw new Error(`asked for codec ${codec}, the session speaks ${session.info().codec}`)
    const samples = context.iterations(SAMPLES, 100)
    // Warm both sides (JIT, imports, the worker's first cells) before anything is kept.
    await nodeFloor.roundTrips(500)
    await awakeNodeFloor.roundTrips(500)
    await timeRuns(session, '1+1', 500)
    await pythonFloor.roundTrips(500)
    await awakePythonFloor.roundTrips(500)
    await timeCalls(session, 'noop()', 500)

    // Node-initiated: floor and run alternate trip by trip, each first half the time.
    // The polling floors run in rounds of back-to-back trips (the Node-initiated one after the runs, the
    // Python-initiated one between the call rounds): a polling peer's window only pays off for trips
    // that follow each other closely, as Capsule's own runs and calls here do.
    const floorRun: number[] = []
    const runs: number[] = []
    for (let i = 0; i < samples; i += 1) {
      if (i % 2 === 0) floorRun.push(...(await nodeFloor.roundTrips(1)))
      runs.push(...(await timeRuns(session, '1+1', 1)))
      if (i % 2 === 1) floorRun.push(...(await nodeFloor.roundTrips(1)))
    }
    const awakeFloorRun: number[] = []
    for (let done = 0; done < samples; done += CALLS_PER_ROUND)
      awakeFloorRun.push(...(await awakeNodeFloor.roundTrips(CALLS_PER_ROUND)))
    const floorCall: number[] = []
    const awakeFloorCall: number[] = []
    const calls: number[] = []
    for (let done = 0; done < samples; done += CALLS_PER_ROUND) {
      floorCall.push(...(await pythonFloor.roundTrips(CALLS_PER_ROUND)))
      awakeFloorCall.push(...(await awakePythonFloor.roundTrips(CALLS_PER_ROUND)))
      calls.push(...(await timeCalls(session, 'noop()', CALLS_PER_ROUND)))
    }
    context.log(`  ${codec}: round trips done`)

    const floorPipelined: number[] = []
    const gathered: number[] = []
    const repeats = context.iterations(5, 1)
    await run(session, gatherCode(1))
    for (let round = 0; round < 3; round += 1) {
      floorPipelined.push(await pythonFloor.pipelined(repeats * GATHER_WIDTH, FLOOR_WINDOW))
      gathered.push(Number(await run(session, gatherCode(repeats))))
    }

    await run(session, 'import asyncio')
    const awaitCells = await timeRuns(session, 'await asyncio.sleep(0)', context.iterations(2000, 50))
    const asyncCalls = await timeCalls(session, 'await noop()', context.iterations(3000, 50))
    const blobs = context.iterations(50, 5)
    const blobSeconds = async (capability: string): Promise<number> =>
      JSON.parse(
        await run(
          session,
          `import time as _t\n${capability}(1 << 20)\n_s = _t.perf_counter()\nfor _ in range(${blobs}):\n    ${capability}(1 << 20)\nprint(_t.perf_counter() - _s)`,
        ),
      ) as number
    const heldBlobSeconds = await blobSeconds('blob')
    const freshBlobSeconds = await blobSeconds('fresh_blob')

    if (context.profileDir) {
      const profiles: Array<[string, string]> = [
        [`worker-${codec}-sync-calls`, `for _ in range(${samples}):\n    noop()`],
        [`worker-${codec}-gathered`, gatherCode(1)],
      ]
      for (const [name, code] of profiles) {
        const lines = await saveCellProfile(await run(session, profiledCell(code)), context.profileDir, name)
        for (const line of lines) context.log(line)
      }
    }

    const nodeFloorFigure = floorFigure(
      id('floor.node.p50'),
      label('raw pipe round trip, Node-initiated p50'),
      percentile(floorRun, 50),
      'µs',
      'lower',
    )
    const pythonFloorFigure = floorFigure(
      id('floor.python.p50'),
      label('raw pipe round trip, Python-initiated p50'),
      percentile(floorCall, 50),
      'µs',
      'lower',
    )
    const awakeNodeFloorFigure = floorFigure(
      id('floor.node.awake.p50'),
      label('raw pipe round trip, Node-initiated, both sides polling p50'),
      percentile(awakeFloorRun, 50),
      'µs',
      'lower',
    )
    const awakePythonFloorFigure = floorFigure(
      id('floor.python.awake.p50'),
      label('raw pipe round trip, Python-initiated, both sides polling p50'),
      percentile(awakeFloorCall, 50),
      'µs',
      'lower',
    )
    const pythonFloorP99 = floorFigure(
      id('floor.python.p99'),
      label('raw pipe round trip, Python-initiated p99'),
      percentile(floorCall, 99),
      'µs',
      'lower',
    )
    const pipelinedFloor = floorFigure(
      id('floor.pipelined'),
      label(`raw pipe, Python-initiated, ${FLOOR_WINDOW} in flight`),
      percentile(floorPipelined, 50),
      'frames/s',
      'higher',
    )
    const meanRunUs = runs.reduce((sum, value) => sum + value, 0) / runs.length
    return [
      nodeFloorFigure,
      againstFloor(nodeFloorFigure, {
        id: id('run.p50'),
        label: label("session.run('1+1') p50"),
        value: percentile(runs, 50),
        target: { kind: 'ratio-at-most', limit: 1.5 },
      }),
      awakeNodeFloorFigure,
      againstFloor(awakeNodeFloorFigure, {
        id: id('run.p50.awake'),
        label: label("session.run('1+1') p50 against the polling floor"),
        value: percentile(runs, 50),
      }),
      againstFloor(floorFigure(id('floor.node.p99'), '', percentile(floorRun, 99), 'µs', 'lower'), {
        id: id('run.p99'),
        label: label("session.run('1+1') p99"),
        value: percentile(runs, 99),
      }),
      {
        id: id('run.per_second'),
        label: label('sequential executions on one session'),
        value: 1e6 / meanRunUs,
        unit: 'exec/s',
        better: 'higher',
        target: { kind: 'at-least', limit: 8000 },
      },
      againstFloor(nodeFloorFigure, {
        id: id('await.p50'),
        label: label('top-level-await cell p50'),
        value: percentile(awaitCells, 50),
      }),
      pythonFloorFigure,
      againstFloor(pythonFloorFigure, {
        id: id('call.sync.p50'),
        label: label('capability round trip, sync p50'),
        value: percentile(calls, 50),
        target: { kind: 'ratio-at-most', limit: 2 },
      }),
      awakePythonFloorFigure,
      againstFloor(awakePythonFloorFigure, {
        id: id('call.sync.p50.awake'),
        label: label('capability round trip, sync p50 against the polling floor'),
        value: percentile(calls, 50),
      }),
      pythonFloorP99,
      againstFloor(pythonFloorP99, {
        id: id('call.sync.p99'),
        label: label('capability round trip, sync p99'),
        value: percentile(calls, 99),
      }),
      againstFloor(pythonFloorFigure, {
        id: id('call.async.p50'),
        label: label('capability round trip, async p50'),
        value: percentile(asyncCalls, 50),
      }),
      pipelinedFloor,
      againstFloor(pipelinedFloor, {
        id: id('call.gathered'),
        label: label(`capability calls pipelined (gather of ${GATHER_WIDTH.toLocaleString('en-US')})`),
        value: percentile(gathered, 50),
        unit: 'calls/s',
        target: { kind: 'at-least', limit: 100_000 },
      }),
      {
        id: id('call.bytes_1mib'),
        label: label('capability returning 1 MiB of bytes'),
        value: blobs / heldBlobSeconds,
        unit: 'MB/s',
        better: 'higher',
        ...(codec === 'msgpack' ? { target: { kind: 'at-least', limit: 500 } as const } : {}),
      },
      {
        id: id('call.fresh_bytes_1mib'),
        label: label('capability returning 1 MiB of bytes it allocates per call'),
        value: blobs / freshBlobSeconds,
        unit: 'MB/s',
        better: 'higher',
      },
    ]
  } finally {
    await capsule.close()
    await Promise.all(
      [nodeFloor, pythonFloor, awakeNodeFloor, awakePythonFloor].map((floor) => floor.close()),
    )
    if (workerProfile)
      for (const line of await summarizeWorkerProfile(python, workerProfile)) context.log(line)
  }
}

/** `pipeline`: run, sync call and pipelined calls against the pipe floors, for each codec. */
export const pipelineBench: Benchmark = {
  name: 'pipeline',
  summary: "run('1+1'), sync/async capability calls and gathered calls against the raw pipe floors",
  async run(context): Promise<Outcome> {
    const figures: Figure[] = []
    const skipped: Outcome['skipped'] = []
    for (const codec of context.codecs) {
      if (codec === 'msgpack' && !context.pythonHasMsgpack) {
        skipped.push({
          id: 'pipeline.msgpack',
          label: 'call pipeline [msgpack]',
          reason: `${context.python} cannot import msgpack`,
        })
        continue
      }
      figures.push(...(await measureCodec(context, codec)))
    }
    return { figures, skipped }
  },
}

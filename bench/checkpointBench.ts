// Checkpoint and restore through a real session, against pickle.dumps + pickle.loads of the same objects
// in plain Python inside the same worker (timed there with time.perf_counter): a namespace of ~100 MB of
// numpy/pandas data, and one of 10,000 small objects. The figure is checkpoint() + restore() as the host
// sees them (worker pickling, frames, HMAC, copies), the floor what pickling alone costs.
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import { Capsule, type Session } from '@capsule/core'
import { BulkTransferFloor } from './bulkPipe.js'
import { againstFloor, type Figure, floorFigure, type Outcome, percentile, type Skipped } from './figures.js'
import type { Benchmark } from './registry.js'

const CHECKPOINT_PYTHON = '/usr/bin/python3'

/** A namespace to checkpoint: the cell that builds it and the names it binds. */
interface Workload {
  id: string
  label: string
  build: string
  names: string[]
  rounds: number
}

const ARRAYS: Workload = {
  id: 'arrays',
  label: '~100 MB numpy/pandas',
  build: [
    'import numpy as np, pandas as pd',
    'rng = np.random.default_rng(7)',
    'matrix = rng.random((2500, 2500))', // 50 MB of float64
    "frame = pd.DataFrame({'k': rng.integers(0, 1000, 2_500_000), 'v': rng.random(2_500_000)})", // 40 MB
    "labels = pd.Series(rng.integers(0, 50, 1_250_000)).astype('category')", // small codes + categories
    'vector = rng.random(1_250_000)', // 10 MB
  ].join('\n'),
  names: ['matrix', 'frame', 'labels', 'vector'],
  rounds: 3,
}

const SMALL: Workload = {
  id: 'small',
  label: '10,000 small objects',
  build: [
    "items = [{'id': i, 'name': 'item-%d' % i, 'tags': ['a', 'b', str(i % 7)], 'score': i * 0.5, 'pos': (i, -i)}",
    '         for i in range(10_000)]',
  ].join('\n'),
  names: ['items'],
  rounds: 7,
}

// The floor, measured inside the worker: the same objects, pickled and unpickled by the standard library.
function plainPickleCell(names: string[]): string {
  return [
    'import pickle as _p, time as _t',
    `_objs = {${names.map((n) => `${JSON.stringify(n)}: ${n}`).join(', ')}}`,
    '_s = _t.perf_counter()',
    '_b = _p.dumps(_objs, protocol=_p.HIGHEST_PROTOCOL)',
    '_m = _t.perf_counter()',
    '_r = _p.loads(_b)',
    '_e = _t.perf_counter()',
    'del _objs, _b, _r',
    "print('CAPSULE-BENCH', (_m - _s) * 1000, (_e - _m) * 1000)",
  ].join('\n')
}

async function run(session: Session, code: string): Promise<string> {
  const result = await session.run(code)
  if (result.status !== 'ok') throw new Error(`bench cell failed: ${result.error?.evalue ?? result.status}`)
  return result.stdout
}

interface Rounds {
  dumps: number[]
  loads: number[]
  checkpoint: number[]
  restore: number[]
  /** The sealed checkpoint's bytes over a bare pipe, worker → host and back (bulkPipe.ts). */
  transfer: number[]
  bytes: number
}

async function measure(
  capsule: Capsule,
  workload: Workload,
  rounds: number,
  bulk: BulkTransferFloor,
): Promise<Rounds> {
  const source = await capsule.session()
  const target = await capsule.session()
  const measured: Rounds = { dumps: [], loads: [], checkpoint: [], restore: [], transfer: [], bytes: 0 }
  try {
    await run(source, workload.build)
    for (let i = 0; i < rounds; i += 1) {
      const line = (await run(source, plainPickleCell(workload.names)))
        .split('\n')
        .find((l) => l.startsWith('CAPSULE-BENCH '))
      if (!line) throw new Error('the plain pickle cell printed no figure')
      const [dumps, loads] = line.split(' ').slice(1).map(Number)
      measured.dumps.push(dumps!)
      measured.loads.push(loads!)
      const started = performance.now()
      const checkpoint = await source.checkpoint()
      const taken = performance.now()
      const report = await target.restore(checkpoint)
      const restored = performance.now()
      if (report.restored.length < workload.names.length || report.lost.length > 0)
        throw new Error(`the restore lost names: ${JSON.stringify(report.lost)}`)
      measured.checkpoint.push(taken - started)
      measured.restore.push(restored - taken)
      measured.bytes = checkpoint.bytes.byteLength
      const size = checkpoint.bytes.byteLength
      measured.transfer.push((await bulk.toNode(size)) + (await bulk.toPython(size)))
    }
  } finally {
    await Promise.all([source.close(), target.close()])
  }
  return measured
}

function figures(workload: Workload, rounds: Rounds): Figure[] {
  const p50 = (values: number[]) => percentile(values, 50)
  const sums = (a: number[], b: number[]) => a.map((value, i) => value + b[i]!)
  const mb = (rounds.bytes / 1024 / 1024).toFixed(1)
  const floor = floorFigure(
    `checkpoint.${workload.id}.pickle`,
    `${workload.label}: pickle.dumps + loads in the worker p50`,
    p50(sums(rounds.dumps, rounds.loads)),
    'ms',
    'lower',
  )
  const dumpsFloor = floorFigure(
    `checkpoint.${workload.id}.dumps`,
    `${workload.label}: pickle.dumps in the worker p50`,
    p50(rounds.dumps),
    'ms',
    'lower',
  )
  const loadsFloor = floorFigure(
    `checkpoint.${workload.id}.loads`,
    `${workload.label}: pickle.loads in the worker p50`,
    p50(rounds.loads),
    'ms',
    'lower',
  )
  // The bytes' bare trip each way is paid by any design that carries the checkpoint over the worker's pipe.
  // Where pickling must copy (small objects), pickle + the trips is a lower bound; where it need not
  // (out-of-band array buffers, unpickled as views of the received bytes) the sum counts one copy twice.
  const transfer = floorFigure(
    `checkpoint.${workload.id}.transfer`,
    `${workload.label}: the same ${mb} MiB over a bare pipe, worker→host + host→worker p50`,
    p50(rounds.transfer),
    'ms',
    'lower',
  )
  const bound = floorFigure(
    `checkpoint.${workload.id}.bound`,
    `${workload.label}: pickle.dumps + loads + the bare pipe trips p50`,
    p50(sums(sums(rounds.dumps, rounds.loads), rounds.transfer)),
    'ms',
    'lower',
  )
  return [
    floor,
    transfer,
    againstFloor(floor, {
      id: `checkpoint.${workload.id}.lowerBound`,
      label: `${workload.label}: pickle + the bare pipe trips, against pickle alone p50`,
      value: bound.value,
    }),
    bound,
    againstFloor(bound, {
      id: `checkpoint.${workload.id}.againstBound`,
      label: `${workload.label}: checkpoint() + restore() against pickle + the bare trips p50`,
      value: p50(sums(rounds.checkpoint, rounds.restore)),
    }),
    againstFloor(floor, {
      id: `checkpoint.${workload.id}.roundtrip`,
      label: `${workload.label}: checkpoint() + restore() (${mb} MiB sealed) p50`,
      value: p50(sums(rounds.checkpoint, rounds.restore)),
      target: { kind: 'ratio-at-most', limit: 1.3 },
    }),
    dumpsFloor,
    againstFloor(dumpsFloor, {
      id: `checkpoint.${workload.id}.checkpoint`,
      label: `${workload.label}: session.checkpoint() p50`,
      value: p50(rounds.checkpoint),
    }),
    loadsFloor,
    againstFloor(loadsFloor, {
      id: `checkpoint.${workload.id}.restore`,
      label: `${workload.label}: session.restore() p50`,
      value: p50(rounds.restore),
    }),
  ]
}

/** `checkpoint`: checkpoint + restore of a big and a many-object namespace against plain pickle. */
export const checkpointBench: Benchmark = {
  name: 'checkpoint',
  summary:
    'session.checkpoint() + restore() of ~100 MB numpy/pandas and of 10,000 small objects against pickle',
  async run(context): Promise<Outcome> {
    const skipped: Skipped[] = []
    const out: Figure[] = []
    const hasScience =
      spawnSync(CHECKPOINT_PYTHON, ['-c', 'import numpy, pandas'], { stdio: 'ignore' }).status === 0
    const workloads = [SMALL]
    if (hasScience) workloads.unshift(ARRAYS)
    else
      skipped.push({
        id: 'checkpoint.arrays',
        label: ARRAYS.label,
        reason: `${CHECKPOINT_PYTHON} lacks numpy or pandas`,
      })
    // Unsandboxed: the figure is the checkpoint path, and bubblewrap adds nothing to it once started.
    const capsule = new Capsule({
      python: CHECKPOINT_PYTHON,
      sandbox: 'none',
      level: 'standard',
      checkpointKey: randomBytes(32),
      limits: { executeTimeoutMs: 300_000, memoryMb: 0 },
    })
    const bulk = new BulkTransferFloor(CHECKPOINT_PYTHON)
    try {
      for (const workload of workloads) {
        context.log(`checkpoint: ${workload.label}`)
        const rounds = context.iterations(workload.rounds, 2)
        out.push(...figures(workload, await measure(capsule, workload, rounds, bulk)))
      }
    } finally {
      await Promise.all([capsule.close(), bulk.close()])
    }
    return { figures: out, skipped }
  },
}

// The scientific stack inside a session against plain /usr/bin/python3 in the same run: a pandas
// workload (1e6 rows: build, groupby, describe) and `import matplotlib.pyplot` in a fresh worker.
import { spawnSync } from 'node:child_process'
import { Capsule, type SandboxMode } from '../packages/core/src/index.js'
import { percentile, type Row } from './report.js'

const PANDAS_WORKLOAD = [
  'import time as _t, json as _j',
  'import numpy as np, pandas as pd',
  '_s = _t.perf_counter()',
  'rng = np.random.default_rng(7)',
  "df = pd.DataFrame({'k': rng.integers(0, 1000, 1_000_000), 'v': rng.random(1_000_000)})",
  "g = df.groupby('k')['v'].agg(['mean', 'sum', 'count'])",
  'd = df.describe()',
  "print('CAPSULE-BENCH', _j.dumps((_t.perf_counter() - _s) * 1000))",
].join('\n')

const MATPLOTLIB_IMPORT = [
  'import time as _t, json as _j',
  '_s = _t.perf_counter()',
  'import matplotlib.pyplot',
  "print('CAPSULE-BENCH', _j.dumps((_t.perf_counter() - _s) * 1000))",
].join('\n')

function measured(output: string): number {
  const line = output.split('\n').find((candidate) => candidate.startsWith('CAPSULE-BENCH '))
  if (line === undefined) throw new Error(`bench cell printed no figure: ${output.slice(-300)}`)
  return Number(line.slice('CAPSULE-BENCH '.length))
}

function plain(python: string, code: string): number {
  const run = spawnSync(python, ['-c', code], { encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`plain python failed: ${run.stderr.slice(-300)}`)
  return measured(run.stdout)
}

async function inSession(capsule: Capsule, code: string): Promise<number> {
  const session = await capsule.session()
  try {
    const result = await session.run(code)
    if (result.status !== 'ok') throw new Error(`bench cell failed: ${result.error?.evalue}`)
    return measured(result.stdout)
  } finally {
    await session.close()
  }
}

/** Rows for the scientific stack, or none when pandas or matplotlib is missing for `python`. */
export async function benchScience(python: string, sandbox: SandboxMode): Promise<Row[]> {
  const has = (module: string) =>
    spawnSync(python, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0
  if (!has('pandas') || !has('matplotlib')) return []
  const capsule = new Capsule({ python, sandbox, level: 'standard', limits: { executeTimeoutMs: 120_000 } })
  const rows: Row[] = []
  try {
    const rounds = 5
    const pandasPlain: number[] = []
    const pandasSession: number[] = []
    const mplPlain: number[] = []
    const mplSession: number[] = []
    // Warm both sides once (page cache, matplotlib's font cache) so neither pays a first-run cost.
    plain(python, MATPLOTLIB_IMPORT)
    await inSession(capsule, MATPLOTLIB_IMPORT)
    for (let i = 0; i < rounds; i += 1) {
      pandasPlain.push(plain(python, PANDAS_WORKLOAD))
      pandasSession.push(await inSession(capsule, PANDAS_WORKLOAD))
      mplPlain.push(plain(python, MATPLOTLIB_IMPORT))
      mplSession.push(await inSession(capsule, MATPLOTLIB_IMPORT))
    }
    const base = percentile(pandasPlain, 50)
    rows.push({ name: 'pandas 1e6 rows, plain python p50', value: base, unit: 'ms', baseline: 'baseline' })
    const inside = percentile(pandasSession, 50)
    rows.push({
      name: `pandas 1e6 rows, in a session (${sandbox}) p50`,
      value: inside,
      unit: 'ms',
      ratio: inside / base,
      target: '≤ 1.1× baseline',
    })
    const mplBase = percentile(mplPlain, 50)
    rows.push({
      name: 'import matplotlib.pyplot, plain python p50',
      value: mplBase,
      unit: 'ms',
      baseline: 'baseline',
    })
    const mplInside = percentile(mplSession, 50)
    rows.push({
      name: `import matplotlib.pyplot, fresh session (${sandbox}) p50`,
      value: mplInside,
      unit: 'ms',
      ratio: mplInside / mplBase,
      target: '≤ 1.3× baseline',
    })
  } finally {
    await capsule.close()
  }
  return rows
}

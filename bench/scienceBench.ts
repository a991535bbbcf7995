// The scientific stack inside a session against plain /usr/bin/python3 in the same run: a pandas
// workload (1e6 rows: build, groupby, describe) and `import matplotlib.pyplot` in a fresh worker.
import { spawnSync } from 'node:child_process'
import { Capsule } from '@capsule/core'
import { probeSandbox } from '@capsule/sandbox'
import { againstFloor, type Figure, floorFigure, type Outcome, percentile } from './figures.js'
import type { Benchmark } from './registry.js'

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

const SCIENCE_PYTHON = '/usr/bin/python3'

async function measure(sandbox: 'bwrap' | 'none', rounds: number): Promise<Figure[]> {
  const python = SCIENCE_PYTHON
  const capsule = new Capsule({ python, sandbox, level: 'standard', limits: { executeTimeoutMs: 120_000 } })
  try {
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
    const pandasFloor = floorFigure(
      'science.pandas.plain',
      'pandas 1e6 rows, plain python p50',
      percentile(pandasPlain, 50),
      'ms',
      'lower',
    )
    const mplFloor = floorFigure(
      'science.matplotlib.plain',
      'import matplotlib.pyplot, plain python p50',
      percentile(mplPlain, 50),
      'ms',
      'lower',
    )
    return [
      pandasFloor,
      againstFloor(pandasFloor, {
        id: 'science.pandas.session',
        label: `pandas 1e6 rows, in a session (${sandbox}) p50`,
        value: percentile(pandasSession, 50),
        target: { kind: 'ratio-at-most', limit: 1.1 },
      }),
      mplFloor,
      againstFloor(mplFloor, {
        id: 'science.matplotlib.session',
        label: `import matplotlib.pyplot, fresh session (${sandbox}) p50`,
        value: percentile(mplSession, 50),
        target: { kind: 'ratio-at-most', limit: 1.3 },
      }),
    ]
  } finally {
    await capsule.close()
  }
}

/** `science`: the scientific stack comes from the distribution, so it is measured with /usr/bin/python3. */
export const scienceBench: Benchmark = {
  name: 'science',
  summary: 'a pandas workload and import matplotlib.pyplot in a session against plain /usr/bin/python3',
  async run(context): Promise<Outcome> {
    const has = (module: string) =>
      spawnSync(SCIENCE_PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0
    if (!has('pandas') || !has('matplotlib'))
      return {
        figures: [],
        skipped: [
          {
            id: 'science',
            label: 'scientific stack',
            reason: `${SCIENCE_PYTHON} lacks pandas or matplotlib`,
          },
        ],
      }
    const sandbox = (await probeSandbox()).available ? 'bwrap' : 'none'
    return { figures: await measure(sandbox, context.iterations(5, 1)), skipped: [] }
  },
}

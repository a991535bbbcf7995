// Sandbox pools: warm acquisition and churn of short sessions through a small pool, under bubblewrap
// when it can run (with /usr/bin/python3, which a sandboxed worker on a root host can read).
import { Capsule } from '@capsule/core'
import { probeSandbox } from '@capsule/sandbox'
import { type Figure, percentile } from './figures.js'
import type { Benchmark } from './registry.js'
import { sandboxablePython } from './startupBench.js'

/** `pool`: warm `capsule.session()` and 200 short sessions through a pool of 4. */
export const poolBench: Benchmark = {
  name: 'pool',
  summary: 'warm capsule.session() from a pool and short sessions churning through a pool of 4',
  async run(context) {
    const sandbox = (await probeSandbox()).available ? 'bwrap' : 'none'
    const python = sandbox === 'bwrap' ? sandboxablePython(context.python) : context.python
    const figures: Figure[] = []
    const warm = new Capsule({ python, sandbox, pool: { min: 2, max: 8 } })
    try {
      const acquire: number[] = []
      for (let i = 0; i < context.iterations(30, 5); i += 1) {
        while (warm.info().pool.warm < 2) await new Promise((resolve) => setTimeout(resolve, 5))
        const started = performance.now()
        const session = await warm.session()
        acquire.push(performance.now() - started)
        await session.close()
      }
      figures.push({
        id: `pool.${sandbox}.warm_acquire.p50`,
        label: `warm capsule.session() p50 (${sandbox})`,
        value: percentile(acquire, 50),
        unit: 'ms',
        better: 'lower',
        target: { kind: 'at-most', limit: 1 },
      })
    } finally {
      await warm.close()
    }
    const pooled = new Capsule({ python, sandbox, pool: { min: 4, max: 4 } })
    try {
      const count = context.iterations(200, 20)
      const latencies: number[] = []
      const started = performance.now()
      await Promise.all(
        Array.from({ length: count }, async () => {
          const t = performance.now()
          const session = await pooled.session()
          await session.run('sum(range(1000))')
          await session.close()
          latencies.push(performance.now() - t)
        }),
      )
      figures.push(
        {
          id: `pool.${sandbox}.churn`,
          label: `${count} short sessions through a pool of 4 (${sandbox})`,
          value: count / ((performance.now() - started) / 1000),
          unit: 'sessions/s',
          better: 'higher',
        },
        {
          id: `pool.${sandbox}.churn.p99`,
          label: '… per-session latency p99 (queueing included)',
          value: percentile(latencies, 99),
          unit: 'ms',
          better: 'lower',
        },
      )
    } finally {
      await pooled.close()
    }
    return { figures, skipped: [] }
  },
}

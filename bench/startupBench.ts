// Spawn-to-ready with and without bubblewrap, alternating, with the same interpreter on both sides:
// /usr/bin/python3 when it exists, because a sandboxed worker on a root host runs as an unprivileged
// uid that cannot enter /root, where a pyenv python3 on PATH lives.
import { existsSync } from 'node:fs'
import { Capsule, type SandboxMode } from '@capsule/core'
import { probeSandbox } from '@capsule/sandbox'
import { againstFloor, type Figure, floorFigure, type Outcome, percentile } from './figures.js'
import type { Benchmark } from './registry.js'

/** The interpreter both sides of the startup comparison use. */
export function sandboxablePython(fallback: string): string {
  return existsSync('/usr/bin/python3') ? '/usr/bin/python3' : fallback
}

async function startupMs(capsule: Capsule): Promise<number> {
  const started = performance.now()
  const session = await capsule.session()
  const measured = session.info().startupMs ?? performance.now() - started
  await session.close()
  return measured
}

/** `startup`: worker spawn-to-ready, unsandboxed and under bubblewrap. */
export const startupBench: Benchmark = {
  name: 'startup',
  summary: 'worker spawn-to-ready without a sandbox and under bubblewrap (same interpreter)',
  async run(context): Promise<Outcome> {
    const python = sandboxablePython(context.python)
    const probe = await probeSandbox()
    const open = (sandbox: SandboxMode) => new Capsule({ python, sandbox, level: 'standard' })
    const plain = open('none')
    const sandboxed = probe.available ? open('bwrap') : undefined
    const plainTimes: number[] = []
    const sandboxedTimes: number[] = []
    try {
      // One of each first: page cache, the interpreter probe, bwrap's own start.
      await startupMs(plain)
      if (sandboxed) await startupMs(sandboxed)
      for (let i = 0; i < context.iterations(15, 3); i += 1) {
        plainTimes.push(await startupMs(plain))
        if (sandboxed) sandboxedTimes.push(await startupMs(sandboxed))
      }
    } finally {
      await plain.close()
      await sandboxed?.close()
    }
    const floor = floorFigure(
      'startup.none.p50',
      `spawn-to-ready, no sandbox p50 (${python})`,
      percentile(plainTimes, 50),
      'ms',
      'lower',
    )
    const figures: Figure[] = [
      floor,
      {
        id: 'startup.none.absolute',
        label: 'spawn-to-ready, no sandbox p50 (absolute)',
        value: floor.value,
        unit: 'ms',
        better: 'lower',
        target: { kind: 'at-most', limit: 25 },
      },
    ]
    if (!probe.available)
      return {
        figures,
        skipped: [
          {
            id: 'startup.bwrap.p50',
            label: 'spawn-to-ready, bubblewrap p50',
            reason: `bubblewrap cannot run: ${probe.reason}: ${probe.message}`,
          },
        ],
      }
    figures.push(
      againstFloor(floor, {
        id: 'startup.bwrap.p50',
        label: `spawn-to-ready, bubblewrap p50 (${python})`,
        value: percentile(sandboxedTimes, 50),
        target: { kind: 'floor-plus-at-most', limit: 8 },
      }),
    )
    return { figures, skipped: [] }
  },
}

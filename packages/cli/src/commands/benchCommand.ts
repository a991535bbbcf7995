import { Capsule, type Session } from '@capsule/core'
import { defineCapability, defineProvider } from '@capsule/provider-sdk'
import { z } from 'zod'
import { EXIT_OK, toCliError, usageError } from '../cliError.js'
import { parseCommandArgs } from '../commandArgs.js'
import { CAPSULE_FLAG_OPTIONS, readCapsuleFlags } from '../config/capsuleFlags.js'
import { resolveCapsuleOptions } from '../config/resolveCapsuleOptions.js'
import { commandHelp } from '../help.js'
import { Spinner } from '../output/spinner.js'
import type { Terminal } from '../output/terminal.js'

const BENCH_OPTIONS = {
  ...CAPSULE_FLAG_OPTIONS,
  iterations: { type: 'string', short: 'n' },
  json: { type: 'boolean' },
} as const

/** One measured figure of `capsule bench`. */
export interface BenchFigure {
  name: string
  value: number
  unit: string
}

// A capability that does nothing, so the round trip measures Capsule and not a provider.
const benchProvider = defineProvider({
  name: 'bench',
  version: '1.0.0',
  capabilities: [
    defineCapability({
      name: 'noop',
      python: 'capsule_bench_noop',
      level: 'sandbox',
      description: 'Return at once (capsule bench).',
      input: z.object({}),
      output: z.null(),
      handler: () => null,
    }),
  ],
})

/**
 * `capsule bench`: how fast Capsule is on this machine with these flags (interpreter, sandbox, limits):
 * start-up, a trivial cell, a top-level-await cell and a capability round trip.
 */
export async function benchCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { values } = parseCommandArgs(args, BENCH_OPTIONS)
  if (values.help) {
    terminal.stdout.write(commandHelp('bench'))
    return EXIT_OK
  }
  const iterations = values.iterations === undefined ? 1000 : Number(values.iterations)
  if (!Number.isInteger(iterations) || iterations < 10 || iterations > 1_000_000) {
    throw usageError(`--iterations must be an integer from 10 to 1000000 (got ${values.iterations})`)
  }
  const resolved = await resolveCapsuleOptions(readCapsuleFlags(values))
  let capsule: Capsule
  try {
    capsule = new Capsule({
      ...resolved.options,
      providers: [...(resolved.options.providers ?? []), benchProvider],
    })
  } catch (error) {
    throw toCliError(error)
  }
  const spinner = new Spinner(terminal.stderr, terminal.interactive && values.json !== true)
  const figures: BenchFigure[] = []
  try {
    spinner.start('measuring start-up')
    const startups: number[] = []
    for (let i = 0; i < 10; i += 1) {
      const session = await capsule.session()
      startups.push(session.info().startupMs ?? Number.NaN)
      await session.close()
    }
    figures.push({ name: 'spawn-to-ready p50', value: percentile(startups, 50), unit: 'ms' })
    const session = await capsule.session()
    spinner.start('measuring cells')
    const cells = await time(session, '1+1', iterations)
    figures.push({ name: "run('1+1') p50", value: percentile(cells, 50), unit: 'µs' })
    figures.push({ name: "run('1+1') p99", value: percentile(cells, 99), unit: 'µs' })
    await session.run('import asyncio')
    const awaits = await time(session, 'await asyncio.sleep(0)', Math.max(10, Math.floor(iterations / 2)))
    figures.push({ name: 'top-level-await cell p50', value: percentile(awaits, 50), unit: 'µs' })
    spinner.start('measuring capability calls')
    const calls = await session.run(
      `import time\nts = []\nfor _ in range(${iterations}):\n    t = time.perf_counter(); capsule_bench_noop(); ts.append(time.perf_counter() - t)\nts.sort()\nts[len(ts) // 2] * 1e6`,
    )
    if (calls.status === 'ok') {
      figures.push({
        name: 'capability round trip p50',
        value: Number(calls.value?.['text/plain']),
        unit: 'µs',
      })
    }
    const info = session.info()
    spinner.stop()
    if (values.json) {
      terminal.stdout.write(
        `${JSON.stringify({ python: info.python, codec: info.codec, sandbox: info.sandbox, level: info.level, iterations, figures })}\n`,
      )
    } else {
      terminal.stdout.write(
        `Python ${info.python}, codec ${info.codec}, sandbox ${info.sandbox}, level ${info.level}, ${iterations} iterations\n`,
      )
      const width = Math.max(...figures.map((figure) => figure.name.length))
      for (const figure of figures) {
        terminal.stdout.write(
          `  ${figure.name.padEnd(width)}  ${figure.value.toFixed(1).padStart(9)} ${figure.unit}\n`,
        )
      }
    }
    return EXIT_OK
  } catch (error) {
    throw toCliError(error)
  } finally {
    spinner.stop()
    await capsule.close()
  }
}

async function time(session: Session, code: string, count: number): Promise<number[]> {
  const times: number[] = []
  for (let i = 0; i < count; i += 1) {
    const started = performance.now()
    await session.run(code)
    times.push((performance.now() - started) * 1000)
  }
  return times
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}

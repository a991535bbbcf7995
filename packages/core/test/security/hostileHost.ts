// A host process under attack, run by hostileWorker.test.ts in a child Node process (so an attack that
// worked could only kill this process, not the test runner). For each attack: a fresh session, real Python
// cells that write forged frames straight onto the worker's protocol pipe, and a second session that keeps
// working meanwhile. Prints one JSON report per attack on stdout.
//
//   node --conditions=@capsule/source --import tsx --expose-gc hostileHost.ts <python> <codec> [attack…]
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { Capsule, DEFAULT_LIMITS, isCapsuleError, type Session } from '../../src/index.js'
import { testProvider } from '../fixtures.js'
import { ATTACKS, type AttackReport, prelude } from './hostileAttacks.js'

const MIB = 1 << 20

const quantile = (sorted: number[], q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]! : 0
const rssMiB = () => Math.round(process.memoryUsage.rss() / MIB)
const collect = () => (globalThis as { gc?: () => void }).gc?.()

async function runAttack(
  capsule: Capsule,
  bystander: Session,
  codec: string,
  name: string,
): Promise<AttackReport> {
  const attack = ATTACKS[name]
  if (!attack) throw new Error(`unknown attack ${name}`)
  const session = await capsule.session({ limits: { heartbeatIntervalMs: 0, interruptGraceMs: 500 } })
  await session.run(prelude(codec))
  collect()
  const idle = rssMiB()
  let peak = idle
  let peakPendingCallBytes = 0
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMiB())
    peakPendingCallBytes = Math.max(peakPendingCallBytes, session.info().pendingCallBytes)
  }, 20)
  const latencies: number[] = []
  const loopDelay = monitorEventLoopDelay({ resolution: 10 })
  loopDelay.enable()
  let attacking = true
  // The bystander alternates a plain cell and a capability call, for as long as the attack lasts.
  const bystanding = (async () => {
    for (let turn = 0; attacking; turn += 1) {
      const started = performance.now()
      const result = await bystander.run(turn % 2 ? 'echo(text="hi")' : 'x = 1 + 1\nx')
      if (result.status !== 'ok') throw new Error(`the bystander failed: ${JSON.stringify(result.error)}`)
      latencies.push(performance.now() - started)
    }
  })()
  const started = performance.now()
  const options = { timeoutMs: attack.timeoutMs ?? 120_000 }
  const execution = attack.streaming ? session.execute(attack.code, options) : undefined
  const settled = await (execution ? execution.result : session.run(attack.code, options)).then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  )
  const durationMs = Math.round(performance.now() - started)
  attacking = false
  loopDelay.disable()
  await bystanding
  clearInterval(sampler)
  let outcome: AttackReport['outcome']
  if ('result' in settled) {
    const { result } = settled
    outcome = {
      kind: 'result',
      status: result.status,
      value: result.value?.['text/plain'] as string | undefined,
      stdoutBytes: Buffer.byteLength(result.stdout),
      stderrTail: result.stderr.slice(-200),
      outputTruncatedBytes: result.outputTruncatedBytes,
      displays: result.displays.length,
      displayBytes: result.displays.reduce((sum, display) => sum + JSON.stringify(display.data).length, 0),
      displayTruncatedBytes: result.displayTruncatedBytes,
      stateLost: result.stateLost,
    }
    if (execution) {
      let events = 0
      for await (const _ of execution) events += 1
      outcome.events = events
    }
  } else {
    const { error } = settled
    if (!isCapsuleError(error)) throw error
    outcome = {
      kind: 'error',
      code: error.code,
      message: error.message.slice(0, 300),
      details: error.details,
    }
  }
  const calls = session.info().calls
  const after = (await session.run('1 + 1')).value?.['text/plain'] as string | undefined
  await session.close()
  collect()
  latencies.sort((a, b) => a - b)
  return {
    name,
    outcome,
    after,
    calls,
    peakPendingCallBytes,
    bystander: {
      runs: latencies.length,
      p50: Math.round(quantile(latencies, 0.5)),
      p99: Math.round(quantile(latencies, 0.99)),
      max: Math.round(latencies.at(-1) ?? 0),
    },
    loopDelay: {
      p99: Math.round(loopDelay.percentile(99) / 1e6),
      max: Math.round(loopDelay.max / 1e6),
    },
    rss: { idleMiB: idle, peakMiB: peak, afterMiB: rssMiB() },
    durationMs,
  }
}

async function main(): Promise<void> {
  const [python, codec, ...names] = process.argv.slice(2)
  if (!python || (codec !== 'msgpack' && codec !== 'json'))
    throw new Error('usage: hostileHost.ts <python> <codec> [attack…]')
  const capsule = new Capsule({
    sandbox: 'none',
    python,
    codec,
    level: 'restricted',
    providers: [testProvider()],
    limits: { maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes },
    // Someone is there to answer input() but never does, so forged input calls stay pending (with
    // nobody to answer, input() would fail at once and nothing would be held).
    onInput: () => new Promise<string>(() => {}),
  })
  try {
    const bystander = await capsule.session({ limits: { heartbeatIntervalMs: 1000 } })
    for (const name of names.length ? names : Object.keys(ATTACKS)) {
      process.stdout.write(`${JSON.stringify(await runAttack(capsule, bystander, codec, name))}\n`)
    }
  } finally {
    await capsule.close()
  }
}

await main()

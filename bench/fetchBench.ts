// `http.fetch` from Python against its floor: undici called directly from Node, both talking to the same
// keep-alive node:http server on 127.0.0.1 in this process. The gap is what Capsule adds per request:
// the Python stub, two frames over the pipes, the policy check, the provider's guards and the Response.
// Floor and figure alternate over a few rounds so background load falls on both.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Capsule, type Session } from '@capsule/core'
import { httpProvider } from '@capsule/providers-http'
import { Agent, request } from 'undici'
import { againstFloor, type Figure, floorFigure, percentile } from './figures.js'
import type { BenchContext, Benchmark } from './registry.js'

/** Requests in flight at once, on both sides. */
const CONCURRENCY = 32
const BODY = Buffer.from('{"ok":true,"n":42}')

interface Measured {
  requestsPerSecond: number
  /** Latencies in µs. */
  p50: number
}

/** A keep-alive server answering every request with the same small JSON body. */
async function startServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer({ keepAlive: true }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length })
    res.end(BODY)
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/small`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** `total` requests from `workers` loops, each awaiting one request at a time, with undici directly. */
async function undiciDirect(
  url: string,
  dispatcher: Agent,
  total: number,
  workers: number,
): Promise<Measured> {
  const times: number[] = []
  let left = total
  const worker = async () => {
    while (left > 0) {
      left -= 1
      const start = performance.now()
      const response = await request(url, { dispatcher })
      await response.body.arrayBuffer()
      if (response.statusCode !== 200) throw new Error(`the server answered ${response.statusCode}`)
      times.push((performance.now() - start) * 1000)
    }
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: workers }, worker))
  return { requestsPerSecond: total / ((performance.now() - start) / 1000), p50: percentile(times, 50) }
}

/** The same loops in Python: `workers` coroutines under asyncio.gather, or one sync loop. */
async function fromPython(session: Session, url: string, total: number, workers: number): Promise<Measured> {
  const code =
    workers === 1
      ? [
          'ts = []',
          't0 = time.perf_counter()',
          `for _ in range(${total}):`,
          '    t = time.perf_counter()',
          `    r = fetch(${JSON.stringify(url)})`,
          '    r.json()',
          '    ts.append(time.perf_counter() - t)',
          'elapsed = time.perf_counter() - t0',
        ]
      : [
          'ts = []',
          `left = ${total}`,
          'async def worker():',
          '    global left',
          '    while left > 0:',
          '        left -= 1',
          '        t = time.perf_counter()',
          `        r = await fetch(${JSON.stringify(url)})`,
          '        r.json()',
          '        ts.append(time.perf_counter() - t)',
          't0 = time.perf_counter()',
          `await asyncio.gather(*(worker() for _ in range(${workers})))`,
          'elapsed = time.perf_counter() - t0',
        ]
  code.push('ts.sort()', `print(json.dumps({"rate": len(ts) / elapsed, "p50": ts[len(ts) // 2] * 1e6}))`)
  const result = await session.run(code.join('\n'))
  if (result.status !== 'ok') throw new Error(`bench cell failed: ${result.error?.traceback.join('')}`)
  const { rate, p50 } = JSON.parse(result.stdout) as { rate: number; p50: number }
  return { requestsPerSecond: rate, p50 }
}

/** Rounds the floor and the figure alternate through; each figure is the median round. */
const ROUNDS = 3

async function measure(context: BenchContext): Promise<Figure[]> {
  const server = await startServer()
  const dispatcher = new Agent({ keepAliveTimeout: 60_000 })
  const provider = httpProvider({
    allow: ['127.0.0.1:*'],
    schemes: ['http'],
    allowPrivateAddresses: ['127.0.0.1'],
    // The default (8 in flight per session) would queue three quarters of the gathered calls.
    maxConcurrentPerSession: CONCURRENCY,
    maxQueuedPerSession: CONCURRENCY,
  })
  const capsule = new Capsule({
    python: context.python,
    sandbox: 'none',
    level: 'standard',
    providers: [provider],
    limits: { executeTimeoutMs: 0 },
  })
  try {
    const session = await capsule.session()
    await session.run('import asyncio, json, time')
    const url = server.url

    // Warm up both sides: connections, JIT, the worker's imports.
    await undiciDirect(url, dispatcher, context.iterations(2_000, 200), CONCURRENCY)
    await fromPython(session, url, context.iterations(1_000, 100), CONCURRENCY)

    const floor: Measured[] = []
    const gathered: Measured[] = []
    const floorSequential: Measured[] = []
    const sequential: Measured[] = []
    for (let round = 0; round < ROUNDS; round += 1) {
      floor.push(await undiciDirect(url, dispatcher, context.iterations(10_000, 500), CONCURRENCY))
      gathered.push(await fromPython(session, url, context.iterations(5_000, 500), CONCURRENCY))
      floorSequential.push(await undiciDirect(url, dispatcher, context.iterations(1_000, 100), 1))
      sequential.push(await fromPython(session, url, context.iterations(1_000, 100), 1))
    }
    const median = (runs: Measured[], key: keyof Measured) =>
      percentile(
        runs.map((run) => run[key]),
        50,
      )

    const floorRate = floorFigure(
      'fetch.floor.concurrent',
      `undici direct, ${CONCURRENCY} concurrent`,
      median(floor, 'requestsPerSecond'),
      'req/s',
      'higher',
    )
    const floorP50 = floorFigure(
      'fetch.floor.concurrent.p50',
      `undici direct, ${CONCURRENCY} concurrent p50`,
      median(floor, 'p50'),
      'µs',
      'lower',
    )
    const floorSequentialP50 = floorFigure(
      'fetch.floor.sequential.p50',
      'undici direct, sequential p50',
      median(floorSequential, 'p50'),
      'µs',
      'lower',
    )
    return [
      floorRate,
      againstFloor(floorRate, {
        id: 'fetch.concurrent',
        label: `fetch from Python, ${CONCURRENCY} concurrent (gather)`,
        value: median(gathered, 'requestsPerSecond'),
        target: { kind: 'ratio-at-least', limit: 0.6 },
      }),
      floorP50,
      againstFloor(floorP50, {
        id: 'fetch.concurrent.p50',
        label: `fetch from Python, ${CONCURRENCY} concurrent p50`,
        value: median(gathered, 'p50'),
      }),
      floorSequentialP50,
      againstFloor(floorSequentialP50, {
        id: 'fetch.sequential.p50',
        label: 'fetch from Python, sync sequential p50',
        value: median(sequential, 'p50'),
      }),
    ]
  } finally {
    await capsule.close()
    await provider.dispose()
    await dispatcher.close()
    await server.close()
  }
}

/**
 * `fetch`: `http.fetch` from Python through a session against undici called directly, with
 * {@link CONCURRENCY} requests in flight (Python: coroutines under `asyncio.gather`) and one at a time,
 * to a keep-alive server on 127.0.0.1.
 */
export const fetchBench: Benchmark = {
  name: 'fetch',
  summary: `http fetch from Python against undici direct, ${CONCURRENCY} concurrent and sequential, local server`,
  async run(context) {
    return { figures: await measure(context), skipped: [] }
  },
}

// `http.fetch` from Python against its floor: undici called directly from Node, both talking to the same
// keep-alive node:http server on 127.0.0.1 in this process. The gap is what Capsule adds per request:
// the Python stub, two frames over the pipes, the policy check, the provider's guards and the Response.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Agent, request } from 'undici'
import { Capsule, type Session } from '../packages/core/src/index.js'
import { httpProvider } from '../packages/providers-http/src/index.js'
import { percentile, type Row } from './report.js'

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

/**
 * Benchmarks `fetch` from Python through a Capsule session against undici called directly, both with
 * {@link CONCURRENCY} requests in flight (Python: coroutines under `asyncio.gather`) and one at a time,
 * to a local keep-alive server. Returns rows whose ratios compare with the undici floor of the same run.
 */
export async function benchFetch(python: string): Promise<Row[]> {
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
    python,
    sandbox: 'none',
    level: 'standard',
    providers: [provider],
    limits: { executeTimeoutMs: 0 },
  })
  try {
    const session = await capsule.session()
    await session.run('import asyncio, json, time')

    // Warm up both sides: connections, JIT, the worker's imports.
    await undiciDirect(server.url, dispatcher, 2_000, CONCURRENCY)
    await fromPython(session, server.url, 1_000, CONCURRENCY)

    const floor = await undiciDirect(server.url, dispatcher, 20_000, CONCURRENCY)
    const gathered = await fromPython(session, server.url, 10_000, CONCURRENCY)
    const floorSequential = await undiciDirect(server.url, dispatcher, 3_000, 1)
    const sequential = await fromPython(session, server.url, 3_000, 1)

    return [
      {
        name: `(f) http floor: undici direct, ${CONCURRENCY} concurrent`,
        value: floor.requestsPerSecond,
        unit: 'req/s',
        baseline: 'floor',
      },
      {
        name: `(f) fetch from Python, ${CONCURRENCY} concurrent (gather)`,
        value: gathered.requestsPerSecond,
        unit: 'req/s',
        ratio: gathered.requestsPerSecond / floor.requestsPerSecond,
        target: '≥ 0.5× floor',
      },
      {
        name: `(f) http floor: undici direct, ${CONCURRENCY} concurrent p50`,
        value: floor.p50,
        unit: 'µs',
        baseline: 'floor',
      },
      {
        name: `(f) fetch from Python, ${CONCURRENCY} concurrent p50`,
        value: gathered.p50,
        unit: 'µs',
        ratio: gathered.p50 / floor.p50,
      },
      {
        name: '(f) http floor: undici direct, sequential p50',
        value: floorSequential.p50,
        unit: 'µs',
        baseline: 'floor',
      },
      {
        name: '(f) fetch from Python, sync sequential p50',
        value: sequential.p50,
        unit: 'µs',
        ratio: sequential.p50 / floorSequential.p50,
      },
    ]
  } finally {
    await capsule.close()
    await provider.dispose()
    await dispatcher.close()
    await server.close()
  }
}

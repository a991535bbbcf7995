import type { ServerResponse } from 'node:http'
import zlib from 'node:zlib'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { httpProvider } from '../src/httpProvider.js'
import type { HttpProviderOptions } from '../src/httpProviderOptions.js'
import {
  callFetch,
  callFetchError,
  startServer,
  type TestServer,
  tableLookup,
  testContext,
} from './helpers.js'

let server: TestServer
const { lookup } = tableLookup({ 'api.test': '127.0.0.1' })
/** Responses the server holds open until the test lets them go. */
const held: ServerResponse[] = []
const heldWaiters: Array<() => void> = []
/** Responses whose connection closed before the server finished them. */
const cutOff: string[] = []

function onHeld(): void {
  for (const waiter of heldWaiters.splice(0)) waiter()
}
function whenHeld(count: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (held.length >= count ? resolve() : heldWaiters.push(check))
    check()
  })
}
function releaseHeld(): void {
  for (const res of held.splice(0)) res.end('released')
}

beforeAll(async () => {
  const gzipped = zlib.gzipSync(Buffer.from('a'.repeat(1000)))
  const brotli = zlib.brotliCompressSync(Buffer.from('b'.repeat(1000)))
  server = await startServer((req, res) => {
    res.on('close', () => {
      if (!res.writableFinished) cutOff.push(req.url ?? '')
    })
    switch (req.url) {
      case '/gzip':
        res.setHeader('content-encoding', 'gzip')
        res.end(gzipped)
        return
      case '/br':
        res.setHeader('content-encoding', 'br')
        res.end(brotli)
        return
      case '/bomb': {
        // An endless gzip stream of zeros: only a client that stops reading at its cap ever returns.
        res.setHeader('content-encoding', 'gzip')
        const gzip = zlib.createGzip()
        gzip.pipe(res)
        const zeros = Buffer.alloc(1024 * 1024)
        const pump = () => {
          while (!res.destroyed && gzip.write(zeros)) {}
          if (!res.destroyed) gzip.once('drain', pump)
        }
        res.on('close', () => gzip.destroy())
        pump()
        return
      }
      case '/big':
        res.setHeader('content-length', String(2 * 1024 * 1024))
        res.write(Buffer.alloc(1024))
        return
      case '/stream-big': {
        // No Content-Length: the cap is found by counting.
        const chunk = Buffer.alloc(64 * 1024, 1)
        const pump = () => {
          while (!res.destroyed && res.write(chunk)) {}
          if (!res.destroyed) res.once('drain', pump)
        }
        pump()
        return
      }
      case '/trickle': {
        res.writeHead(200, { 'content-type': 'text/plain' })
        const timer = setInterval(() => res.write('x'), 200)
        res.on('close', () => clearInterval(timer))
        return
      }
      case '/cut':
        // Announces 1000 bytes, sends 10, then drops the connection.
        res.setHeader('content-length', '1000')
        res.write(Buffer.alloc(10, 0x61), () => res.socket?.destroy())
        return
      case '/bad-gzip':
        res.setHeader('content-encoding', 'gzip')
        res.end(Buffer.from('this is not gzip at all'))
        return
      case '/huge-header':
        res.setHeader('x-big', 'h'.repeat(8 * 1024))
        res.end('ok')
        return
      case '/hold':
        held.push(res)
        onHeld()
        return
      default:
        res.end('fast')
    }
  })
})
afterAll(async () => {
  releaseHeld()
  await server.close()
})

const providers: Array<{ dispose(): Promise<void> }> = []
afterEach(async () => {
  releaseHeld()
  await Promise.all(providers.splice(0).map((p) => p.dispose()))
  server.requests.length = 0
  cutOff.length = 0
})

function provider(options: Partial<HttpProviderOptions> = {}) {
  const p = httpProvider({
    allow: ['api.test:*'],
    schemes: ['http'],
    allowPrivateAddresses: ['127.0.0.1'],
    lookup,
    ...options,
  })
  providers.push(p)
  return p
}
const at = (path: string) => `http://api.test:${server.port}${path}`

describe('response body', () => {
  test('is decoded from gzip and brotli', async () => {
    const p = provider()
    expect(Buffer.from((await callFetch(p, { url: at('/gzip') })).body).toString()).toBe('a'.repeat(1000))
    expect(Buffer.from((await callFetch(p, { url: at('/br') })).body).toString()).toBe('b'.repeat(1000))
  })

  test('an endless gzip bomb stops at maxResponseBytes of decoded output with LIMIT_EXCEEDED', async () => {
    const started = Date.now()
    const error = await callFetchError(provider({ maxResponseBytes: 1024 * 1024 }), { url: at('/bomb') })
    expect(error.code).toBe('LIMIT_EXCEEDED')
    expect(error.message).toContain('1048576')
    expect(Date.now() - started).toBeLessThan(5000)
    await expect.poll(() => cutOff).toContain('/bomb')
  })

  test('a body announced larger than the cap is refused before reading it', async () => {
    const error = await callFetchError(provider({ maxResponseBytes: 1024 * 1024 }), { url: at('/big') })
    expect(error.code).toBe('LIMIT_EXCEEDED')
  })

  test('a body without Content-Length is counted and cut at the cap', async () => {
    const error = await callFetchError(provider({ maxResponseBytes: 256 * 1024 }), { url: at('/stream-big') })
    expect(error.code).toBe('LIMIT_EXCEEDED')
    await expect.poll(() => cutOff).toContain('/stream-big')
  })
})

describe('deadline', () => {
  test('a body cut off before its announced length fails with UNAVAILABLE, not a short success', async () => {
    const error = await callFetchError(provider(), { url: at('/cut') })
    expect(error.code).toBe('UNAVAILABLE')
  })

  test('a body that does not decode fails with UNAVAILABLE and says so', async () => {
    const error = await callFetchError(provider(), { url: at('/bad-gzip') })
    expect(error.code).toBe('UNAVAILABLE')
    expect(error.message).toBe('response body could not be decoded')
  })

  test('a body trickled one byte at a time hits the total deadline on time with TIMEOUT', async () => {
    const started = Date.now()
    const error = await callFetchError(provider({ timeoutMs: 800 }), { url: at('/trickle') })
    const elapsed = Date.now() - started
    expect(error.code).toBe('TIMEOUT')
    expect(elapsed).toBeGreaterThanOrEqual(750)
    expect(elapsed).toBeLessThan(1600)
    await expect.poll(() => cutOff).toContain('/trickle')
  })

  test('a server that never answers hits the deadline; timeout= can shorten it but not extend it', async () => {
    const started = Date.now()
    const error = await callFetchError(provider({ timeoutMs: 10_000 }), { url: at('/hold'), timeout: 0.3 })
    expect(error.code).toBe('TIMEOUT')
    expect(Date.now() - started).toBeLessThan(2000)
    const longer = Date.now()
    expect((await callFetchError(provider({ timeoutMs: 300 }), { url: at('/hold'), timeout: 60 })).code).toBe(
      'TIMEOUT',
    )
    expect(Date.now() - longer).toBeLessThan(2000)
  })

  test('the call context deadline also bounds the request', async () => {
    const { ctx } = testContext({ deadline: Date.now() + 300 })
    const started = Date.now()
    expect((await callFetchError(provider(), { url: at('/hold') }, ctx)).code).toBe('TIMEOUT')
    expect(Date.now() - started).toBeLessThan(2000)
  })
})

describe('cancellation', () => {
  test('aborting the call signal aborts the request in flight with CANCELLED', async () => {
    const { ctx, controller } = testContext()
    const pending = callFetchError(provider(), { url: at('/hold') }, ctx)
    await whenHeld(1)
    controller.abort()
    expect((await pending).code).toBe('CANCELLED')
    await expect.poll(() => cutOff).toContain('/hold')
  })

  test('a call whose signal is already aborted sends nothing', async () => {
    const { ctx, controller } = testContext()
    controller.abort()
    expect((await callFetchError(provider(), { url: at('/fast') }, ctx)).code).toBe('CANCELLED')
    expect(server.requests).toHaveLength(0)
  })
})

describe('request and header caps', () => {
  test('a request body over maxRequestBytes is refused with LIMIT_EXCEEDED before sending', async () => {
    const p = provider({ maxRequestBytes: 10 })
    expect((await callFetchError(p, { url: at('/fast'), method: 'POST', body: '12345678901' })).code).toBe(
      'LIMIT_EXCEEDED',
    )
    expect(
      (await callFetchError(p, { url: at('/fast'), method: 'POST', body: new Uint8Array(11) })).code,
    ).toBe('LIMIT_EXCEEDED')
    expect((await callFetchError(p, { url: at('/fast'), method: 'POST', json: 'a'.repeat(20) })).code).toBe(
      'LIMIT_EXCEEDED',
    )
    expect((await callFetch(p, { url: at('/fast'), method: 'POST', body: '1234567890' })).status).toBe(200)
    expect(server.requests).toHaveLength(1)
  })

  test('response headers over maxHeaderBytes fail with LIMIT_EXCEEDED', async () => {
    const error = await callFetchError(provider({ maxHeaderBytes: 4096 }), { url: at('/huge-header') })
    expect(error.code).toBe('LIMIT_EXCEEDED')
    expect(error.message).toContain('headers')
    expect(
      (await callFetch(provider({ maxHeaderBytes: 16 * 1024 }), { url: at('/huge-header') })).status,
    ).toBe(200)
  })

  test('request headers and URL over maxHeaderBytes are refused before sending', async () => {
    const p = provider({ maxHeaderBytes: 4096 })
    expect((await callFetchError(p, { url: at('/fast'), headers: { 'X-Big': 'a'.repeat(5000) } })).code).toBe(
      'LIMIT_EXCEEDED',
    )
    expect((await callFetchError(p, { url: at(`/fast?q=${'a'.repeat(5000)}`) })).code).toBe('LIMIT_EXCEEDED')
    expect(server.requests).toHaveLength(0)
  })
})

describe('concurrency per session', () => {
  test('over maxConcurrentPerSession with no queue, a call fails at once with LIMIT_EXCEEDED; other sessions are unaffected', async () => {
    const p = provider({ maxConcurrentPerSession: 2, maxQueuedPerSession: 0 })
    const first = callFetch(p, { url: at('/hold') })
    const second = callFetch(p, { url: at('/hold') })
    await whenHeld(2)
    const third = await callFetchError(p, { url: at('/fast') })
    expect(third.code).toBe('LIMIT_EXCEEDED')
    const other = await callFetch(p, { url: at('/fast') }, testContext({ sessionId: 'session-2' }).ctx)
    expect(Buffer.from(other.body).toString()).toBe('fast')
    releaseHeld()
    await Promise.all([first, second])
    // Slots are given back: the session can call again.
    expect((await callFetch(p, { url: at('/fast') })).status).toBe(200)
  })

  test('calls over the cap wait in order for a slot, up to maxQueuedPerSession', async () => {
    const p = provider({ maxConcurrentPerSession: 1, maxQueuedPerSession: 1 })
    const first = callFetch(p, { url: at('/hold') })
    await whenHeld(1)
    const queued = callFetch(p, { url: at('/fast?queued') })
    expect((await callFetchError(p, { url: at('/fast') })).code).toBe('LIMIT_EXCEEDED')
    expect(server.requests.map((r) => r.url)).toEqual(['/hold'])
    releaseHeld()
    await first
    expect(Buffer.from((await queued).body).toString()).toBe('fast')
    expect(server.requests.map((r) => r.url)).toEqual(['/hold', '/fast?queued'])
  })

  test('a queued call that is cancelled leaves the queue', async () => {
    const p = provider({ maxConcurrentPerSession: 1, maxQueuedPerSession: 1 })
    const first = callFetch(p, { url: at('/hold') })
    await whenHeld(1)
    const { ctx, controller } = testContext()
    const queued = callFetchError(p, { url: at('/fast') }, ctx)
    controller.abort()
    expect((await queued).code).toBe('CANCELLED')
    // The queue has room again.
    const next = callFetch(p, { url: at('/fast?next') })
    releaseHeld()
    await first
    expect((await next).status).toBe(200)
    expect(server.requests.map((r) => r.url)).toEqual(['/hold', '/fast?next'])
  })
})

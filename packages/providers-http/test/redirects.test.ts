import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { httpProvider } from '../src/httpProvider.js'
import type { HttpProviderOptions } from '../src/httpProviderOptions.js'
import {
  callFetch,
  callFetchError,
  selfSignedCertificate,
  startServer,
  type TestServer,
  tableLookup,
} from './helpers.js'

// Two origins on two servers, both 127.0.0.1: `api.test:<a>` and `other.test:<b>`; plus an https one.
let a: TestServer
let b: TestServer
let secure: TestServer
let cert: string
const { lookup } = tableLookup({
  'api.test': '127.0.0.1',
  'other.test': '127.0.0.1',
  'secure.test': '127.0.0.1',
  'private.test': '10.0.0.3',
})

function redirector(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x')
  const to = url.searchParams.get('to')
  const status = Number(url.searchParams.get('status') ?? 302)
  const hops = Number(url.searchParams.get('hops') ?? 0)
  if (url.pathname === '/chain') {
    res.statusCode = hops > 0 ? 302 : 200
    if (hops > 0) res.setHeader('location', `/chain?hops=${hops - 1}`)
    res.end(hops > 0 ? 'redirect body' : 'done')
    return
  }
  if (url.pathname === '/redirect' && to) {
    res.statusCode = status
    res.setHeader('location', to)
    res.end()
    return
  }
  res.setHeader('content-type', 'text/plain')
  res.end(`${req.method} ${url.pathname}`)
}

beforeAll(async () => {
  const tls = await selfSignedCertificate('secure.test')
  cert = tls.cert
  a = await startServer(redirector)
  b = await startServer(redirector)
  secure = await startServer(redirector, tls)
})
afterAll(async () => {
  await Promise.all([a.close(), b.close(), secure.close()])
})

const providers: Array<{ dispose(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.dispose()))
  for (const server of [a, b, secure]) server.requests.length = 0
})

function provider(options: Partial<HttpProviderOptions> = {}) {
  const p = httpProvider({
    allow: ['api.test:*', 'other.test:*', 'secure.test:*', 'private.test:*', '169.254.169.254'],
    schemes: ['http', 'https'],
    allowPrivateAddresses: ['127.0.0.1'],
    ca: cert,
    lookup,
    ...options,
  })
  providers.push(p)
  return p
}

const redirect = (server: TestServer, to: string, status = 302) =>
  `http://api.test:${server.port}/redirect?status=${status}&to=${encodeURIComponent(to)}`

describe('redirects', () => {
  test('follows a chain up to maxRedirects and reports the final URL', async () => {
    const result = await callFetch(provider({ maxRedirects: 3 }), {
      url: `http://api.test:${a.port}/chain?hops=3`,
    })
    expect(result.status).toBe(200)
    expect(result.url).toBe(`http://api.test:${a.port}/chain?hops=0`)
    expect(Buffer.from(result.body).toString()).toBe('done')
    expect(a.requests).toHaveLength(4)
  })

  test('fails with LIMIT_EXCEEDED one redirect past maxRedirects', async () => {
    const error = await callFetchError(provider({ maxRedirects: 2 }), {
      url: `http://api.test:${a.port}/chain?hops=3`,
    })
    expect(error.code).toBe('LIMIT_EXCEEDED')
    expect(error.message).toContain('too many redirects')
    expect(a.requests).toHaveLength(3)
  })

  test('maxRedirects 0 refuses every redirect', async () => {
    const error = await callFetchError(provider({ maxRedirects: 0 }), {
      url: `http://api.test:${a.port}/chain?hops=1`,
    })
    expect(error.code).toBe('LIMIT_EXCEEDED')
  })

  test('re-checks every hop: a redirect to a host outside the allowlist is refused', async () => {
    const error = await callFetchError(provider(), { url: redirect(a, `http://evil.test:${b.port}/`) })
    expect(error.code).toBe('DENIED')
    expect(error.message).toContain('evil.test')
  })

  test('re-checks every hop: a redirect to the metadata address or a name resolving privately is refused', async () => {
    const p = provider()
    expect(
      (await callFetchError(p, { url: redirect(a, 'http://169.254.169.254/latest/meta-data/') })).code,
    ).toBe('DENIED')
    expect((await callFetchError(p, { url: redirect(a, `http://private.test:${b.port}/`) })).code).toBe(
      'DENIED',
    )
    // The control: the same redirect to an allowed, public-checked origin is followed.
    expect((await callFetch(p, { url: redirect(a, `http://other.test:${b.port}/ok`) })).status).toBe(200)
    expect(b.requests.map((r) => r.url)).toEqual(['/ok'])
  })

  test('re-checks the scheme on every hop: a redirect to a disallowed scheme is refused', async () => {
    const error = await callFetchError(provider(), { url: redirect(a, 'file:///etc/passwd') })
    expect(error.code).toBe('DENIED')
  })

  test('drops Authorization, Cookie and Proxy-Authorization when a redirect leaves the origin, for good', async () => {
    const back = `http://api.test:${a.port}/final`
    const viaB = `http://other.test:${b.port}/redirect?to=${encodeURIComponent(back)}`
    await callFetch(provider(), {
      url: redirect(a, viaB),
      headers: {
        Authorization: 'Bearer py',
        Cookie: 'c=1',
        'Proxy-Authorization': 'Basic x',
        'X-Trace': 't',
      },
    })
    expect(a.requests[0]?.headers).toMatchObject({
      authorization: 'Bearer py',
      cookie: 'c=1',
      'x-trace': 't',
    })
    expect(b.requests[0]?.headers['x-trace']).toBe('t')
    expect(b.requests[0]?.headers.authorization).toBeUndefined()
    expect(b.requests[0]?.headers.cookie).toBeUndefined()
    expect(b.requests[0]?.headers['proxy-authorization']).toBeUndefined()
    // Back on the first origin the credentials stay gone, as in browsers.
    expect(a.requests[1]?.url).toBe('/final')
    expect(a.requests[1]?.headers.authorization).toBeUndefined()
  })

  test('keeps credentials on a same-origin redirect', async () => {
    await callFetch(provider(), { url: redirect(a, '/final'), headers: { Authorization: 'Bearer py' } })
    expect(a.requests[1]?.headers.authorization).toBe('Bearer py')
  })

  test('a different port on the same host is another origin', async () => {
    await callFetch(provider(), {
      url: redirect(a, `http://api.test:${b.port}/final`),
      headers: { Cookie: 'c=1' },
    })
    expect(b.requests[0]?.headers.cookie).toBeUndefined()
  })

  test('injected headers follow their host rule on each hop, never a cross-origin redirect', async () => {
    const p = provider({
      injectHeaders: [{ host: `api.test:${a.port}`, headers: { Authorization: 'Bearer host-secret' } }],
    })
    const result = await callFetch(p, { url: redirect(a, `http://other.test:${b.port}/final`) })
    expect(a.requests[0]?.headers.authorization).toBe('Bearer host-secret')
    expect(b.requests[0]?.headers.authorization).toBeUndefined()
    expect(JSON.stringify({ ...result, body: Buffer.from(result.body).toString() })).not.toContain(
      'host-secret',
    )
  })

  test('303 turns any method into GET without a body; 301/302 do so for POST; 307/308 keep both', async () => {
    const p = provider()
    const cases = [
      [303, 'PUT', 'GET'],
      [302, 'POST', 'GET'],
      [301, 'POST', 'GET'],
      [307, 'POST', 'POST'],
      [308, 'PUT', 'PUT'],
      [302, 'PUT', 'PUT'],
    ] as const
    for (const [status, method, expected] of cases) {
      a.requests.length = 0
      const result = await callFetch(p, { url: redirect(a, '/final', status), method, json: { n: 1 } })
      expect(Buffer.from(result.body).toString(), `${status} ${method}`).toBe(`${expected} /final`)
      const hop = a.requests[1]!
      if (expected === 'GET') {
        expect(hop.body.length).toBe(0)
        expect(hop.headers['content-type']).toBeUndefined()
      } else {
        expect(hop.body.toString()).toBe('{"n":1}')
        expect(hop.headers['content-type']).toBe('application/json')
      }
    }
  })

  test('speaks https to a trusted certificate, and refuses a redirect from https down to http', async () => {
    const p = provider()
    const ok = await callFetch(p, { url: `https://secure.test:${secure.port}/hello` })
    expect(Buffer.from(ok.body).toString()).toBe('GET /hello')
    const to = encodeURIComponent(`http://api.test:${a.port}/final`)
    const error = await callFetchError(p, { url: `https://secure.test:${secure.port}/redirect?to=${to}` })
    expect(error.code).toBe('DENIED')
    expect(error.message).toContain('https to http')
    expect(a.requests).toHaveLength(0)
  })

  test('an https server with a certificate the host does not trust is UNAVAILABLE', async () => {
    const p = provider({ ca: undefined })
    const error = await callFetchError(p, { url: `https://secure.test:${secure.port}/hello` })
    expect(error.code).toBe('UNAVAILABLE')
    expect(secure.requests).toHaveLength(0)
  })
})

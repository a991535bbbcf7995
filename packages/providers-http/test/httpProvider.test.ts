import http from 'node:http'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { z } from 'zod'
import { httpProvider } from '../src/httpProvider.js'
import { callFetch, callFetchError, startServer, type TestServer, tableLookup } from './helpers.js'

let server: TestServer
const { lookup } = tableLookup({ 'api.test': '127.0.0.1' })

beforeAll(async () => {
  server = await startServer((req, res, body) => {
    if (req.url === '/hello') {
      res.statusMessage = 'Very OK'
      res.setHeader('Set-Cookie', ['a=1', 'b=2'])
      res.setHeader('X-Echo-Method', req.method ?? '')
      res.end('hello')
      return
    }
    if (req.url === '/echo') {
      res.setHeader('content-type', req.headers['content-type'] ?? 'none')
      res.end(body)
      return
    }
    res.statusCode = 404
    res.end()
  })
})
afterAll(() => server.close())

const providers: Array<{ dispose(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.dispose()))
  server.requests.length = 0
})

function provider(extra: Partial<Parameters<typeof httpProvider>[0]> = {}) {
  const p = httpProvider({
    allow: ['api.test:*'],
    schemes: ['http', 'https'],
    allowPrivateAddresses: ['127.0.0.1'],
    lookup,
    ...extra,
  })
  providers.push(p)
  return p
}

describe('httpProvider', () => {
  test('declares http.fetch as a standard, open-world capability wrapped as an http_response', () => {
    const p = provider()
    expect(p.name).toBe('http')
    expect(p.capabilities).toHaveLength(1)
    const [fetch] = p.capabilities
    expect(fetch).toMatchObject({
      name: 'fetch',
      python: 'fetch',
      level: 'standard',
      pythonResult: 'http_response',
      annotations: { openWorld: true },
      secretArgs: [],
    })
    expect(Object.keys(fetch!.input.shape)).toEqual(['url', 'method', 'headers', 'body', 'json', 'timeout'])
  })

  test('returns the final url, status, reason, headers in order with duplicates, and the body bytes', async () => {
    const result = await callFetch(provider(), { url: `http://api.test:${server.port}/hello` })
    expect(result.url).toBe(`http://api.test:${server.port}/hello`)
    expect(result.status).toBe(200)
    expect(result.reason).toBe('Very OK')
    expect(result.headers.filter(([name]) => name.toLowerCase() === 'set-cookie')).toEqual([
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
    ])
    expect(result.body).toBeInstanceOf(Uint8Array)
    expect(Buffer.from(result.body).toString()).toBe('hello')
    // The output passes the capability's own output schema.
    expect(() => provider().capabilities[0]!.output.parse(result)).not.toThrow()
  })

  test('sends a default User-Agent and Accept-Encoding unless Python sets them', async () => {
    await callFetch(provider({ userAgent: 'agent/1' }), { url: `http://api.test:${server.port}/hello` })
    await callFetch(provider(), {
      url: `http://api.test:${server.port}/hello`,
      headers: { 'User-Agent': 'mine' },
    })
    expect(server.requests[0]?.headers['user-agent']).toBe('agent/1')
    expect(server.requests[0]?.headers['accept-encoding']).toBe('gzip, deflate, br')
    expect(server.requests[1]?.headers['user-agent']).toBe('mine')
  })

  test('serialises json= into the body with Content-Type application/json', async () => {
    const result = await callFetch(provider(), {
      url: `http://api.test:${server.port}/echo`,
      method: 'post',
      json: { a: [1, 2], b: 'é' },
    })
    expect(server.requests[0]?.method).toBe('POST')
    expect(Buffer.from(result.body).toString()).toBe('{"a":[1,2],"b":"é"}')
    expect(server.requests[0]?.headers['content-type']).toBe('application/json')
  })

  test('sends a str body as UTF-8 and a bytes body as is', async () => {
    const p = provider()
    const text = await callFetch(p, { url: `http://api.test:${server.port}/echo`, method: 'PUT', body: 'é' })
    expect(Buffer.from(text.body)).toEqual(Buffer.from('é', 'utf8'))
    const bytes = await callFetch(p, {
      url: `http://api.test:${server.port}/echo`,
      method: 'PUT',
      body: new Uint8Array([0, 255, 1]),
    })
    expect([...bytes.body]).toEqual([0, 255, 1])
  })

  test('refuses body= and json= together with INVALID_ARGUMENT, before any request', async () => {
    const error = await callFetchError(provider(), {
      url: `http://api.test:${server.port}/echo`,
      method: 'POST',
      body: 'x',
      json: { a: 1 },
    })
    expect(error.code).toBe('INVALID_ARGUMENT')
    expect(server.requests).toHaveLength(0)
  })

  test('refuses headers the client manages (Host, Content-Length, Transfer-Encoding) and header injection', async () => {
    const p = provider()
    const url = `http://api.test:${server.port}/hello`
    for (const headers of [
      { Host: 'internal' },
      { 'Content-Length': '0' },
      { 'transfer-encoding': 'chunked' },
      { 'X-A': 'b\r\nX-C: d' },
      { 'bad name': 'x' },
    ]) {
      const error = await callFetchError(p, { url, headers })
      expect(error.code, JSON.stringify(headers)).toBe('INVALID_ARGUMENT')
    }
    expect(server.requests).toHaveLength(0)
  })

  test('refuses an invalid URL or method with INVALID_ARGUMENT', async () => {
    expect((await callFetchError(provider(), { url: 'not a url' })).code).toBe('INVALID_ARGUMENT')
    expect(
      (await callFetchError(provider(), { url: `http://api.test:${server.port}/`, method: 'GE T' })).code,
    ).toBe('INVALID_ARGUMENT')
  })

  test('reports a refused connection as UNAVAILABLE', async () => {
    const closed = http.createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as { port: number }).port
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const error = await callFetchError(provider(), { url: `http://api.test:${port}/` })
    expect(error.code).toBe('UNAVAILABLE')
  })

  test('reports an unknown host name as UNAVAILABLE', async () => {
    const error = await callFetchError(provider({ allow: ['*.test:*'] }), {
      url: `http://nowhere.test:${server.port}/`,
    })
    expect(error.code).toBe('UNAVAILABLE')
    expect(error.message).toContain('nowhere.test')
  })

  test('fails later calls with UNAVAILABLE once disposed, and dispose is idempotent', async () => {
    const p = provider()
    await callFetch(p, { url: `http://api.test:${server.port}/hello` })
    await p.dispose()
    await p.dispose()
    expect((await callFetchError(p, { url: `http://api.test:${server.port}/hello` })).code).toBe(
      'UNAVAILABLE',
    )
  })

  test('injected headers reach the server but never the output, the errors, or anything Python can inspect', async () => {
    const p = provider({
      allow: ['api.test:*', 'denied.test'],
      injectHeaders: [
        { host: 'api.test:*', headers: { Authorization: 'Bearer host-s3cret', 'X-Api-Key': 'key-s3cret' } },
      ],
    })
    const result = await callFetch(p, {
      url: `http://api.test:${server.port}/hello`,
      headers: { authorization: 'Bearer from-python' },
    })
    // The host's value wins over one Python tries to set.
    expect(server.requests[0]?.headers.authorization).toBe('Bearer host-s3cret')
    expect(server.requests[0]?.headers['x-api-key']).toBe('key-s3cret')
    const output = JSON.stringify({ ...result, body: Buffer.from(result.body).toString() })
    expect(output).not.toContain('s3cret')
    const refused = await callFetchError(p, { url: 'https://denied.test/' })
    expect(refused.message).not.toContain('s3cret')
    const capability = p.capabilities[0]!
    const visible = JSON.stringify([
      capability.description,
      capability.python,
      z.toJSONSchema(capability.input, { unrepresentable: 'any' }),
    ])
    expect(visible).not.toContain('s3cret')
  })

  test('its description and argument schema say nothing about the configured hosts', () => {
    const p = provider({ allow: ['secret-internal.example.com'] })
    const visible = JSON.stringify([
      p.capabilities[0]!.description,
      z.toJSONSchema(p.capabilities[0]!.input, { unrepresentable: 'any' }),
    ])
    expect(visible).not.toContain('secret-internal')
  })
})

import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { matchesHostRule, parseHostRule } from '../src/hostRule.js'
import { httpProvider } from '../src/httpProvider.js'
import type { HttpProviderOptions } from '../src/httpProviderOptions.js'
import { callFetch, callFetchError, startServer, type TestServer, tableLookup } from './helpers.js'

let server: TestServer
const { lookup } = tableLookup({
  'api.test': '127.0.0.1',
  'example.test': '127.0.0.1',
  'a.example.test': '127.0.0.1',
  'a.example.test.': '127.0.0.1',
  'deep.a.example.test': '127.0.0.1',
  'internal.example.test': '127.0.0.1',
})

beforeAll(async () => {
  server = await startServer((_req, res) => res.end('ok'))
})
afterAll(() => server.close())

const providers: Array<{ dispose(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.dispose()))
  server.requests.length = 0
})

function provider(options: Partial<HttpProviderOptions>) {
  const p = httpProvider({
    allow: [],
    schemes: ['http', 'https'],
    allowPrivateAddresses: ['127.0.0.1'],
    lookup,
    ...options,
  } as HttpProviderOptions)
  providers.push(p)
  return p
}

const at = (host: string, path = '/') => `http://${host}:${server.port}${path}`

describe('host rules', () => {
  test('parse names, wildcards, ports and IP literals into the URL parser’s normal form', () => {
    expect(parseHostRule('API.Example.com')).toEqual({
      source: 'API.Example.com',
      host: 'api.example.com',
      wildcard: false,
      port: 'default',
    })
    expect(parseHostRule('*.example.org:8443')).toMatchObject({
      host: 'example.org',
      wildcard: true,
      port: 8443,
    })
    expect(parseHostRule('example.org:*')).toMatchObject({ port: '*' })
    expect(parseHostRule('[2001:DB8::1]:443')).toMatchObject({ host: '[2001:db8::1]', port: 443 })
    expect(parseHostRule('0x7f.1')).toMatchObject({ host: '127.0.0.1' })
    expect(parseHostRule('bücher.example')).toMatchObject({ host: 'xn--bcher-kva.example' })
    expect(parseHostRule('example.com.')).toMatchObject({ host: 'example.com' })
  })

  test('reject malformed rules with a precise message', () => {
    expect(() => parseHostRule('https://example.com')).toThrow(/not a URL/)
    expect(() => parseHostRule('a*.example.com')).toThrow(/'\*' is only allowed/)
    expect(() => parseHostRule('*.10.0.0.1')).toThrow(/wildcard cannot apply to an IP literal/)
    expect(() => parseHostRule('example.com:0')).toThrow(/port must be 1-65535/)
    expect(() => parseHostRule('2001:db8::1')).toThrow(/IPv6 in brackets/)
    expect(() => parseHostRule('')).toThrow(/non-empty/)
  })

  test('a rule without a port matches only the scheme default port', () => {
    const rule = parseHostRule('example.com')
    expect(matchesHostRule(rule, 'example.com', 443, 443)).toBe(true)
    expect(matchesHostRule(rule, 'example.com', 80, 80)).toBe(true)
    expect(matchesHostRule(rule, 'example.com', 8443, 443)).toBe(false)
  })
})

describe('allowlist at request time', () => {
  test('allows an exact host and refuses others with DENIED, before any connection', async () => {
    const p = provider({ allow: ['api.test:*'] })
    expect((await callFetch(p, { url: at('api.test') })).status).toBe(200)
    const error = await callFetchError(p, { url: at('example.test') })
    expect(error.code).toBe('DENIED')
    expect(error.message).toContain('not in the allowlist')
    expect(server.requests).toHaveLength(1)
  })

  test('a wildcard matches subdomains at any depth but not the apex', async () => {
    const p = provider({ allow: ['*.example.test:*'] })
    expect((await callFetch(p, { url: at('a.example.test') })).status).toBe(200)
    expect((await callFetch(p, { url: at('deep.a.example.test') })).status).toBe(200)
    expect((await callFetchError(p, { url: at('example.test') })).code).toBe('DENIED')
  })

  test('a host with a trailing dot is the same host for allow and deny', async () => {
    const p = provider({ allow: ['*.example.test:*'], deny: ['internal.example.test:*'] })
    expect((await callFetch(p, { url: at('a.example.test.') })).status).toBe(200)
    expect((await callFetchError(p, { url: at('internal.example.test.') })).code).toBe('DENIED')
  })

  test('a port in a rule must match; without one only the default port is allowed', async () => {
    const pinned = provider({ allow: [`api.test:${server.port}`] })
    expect((await callFetch(pinned, { url: at('api.test') })).status).toBe(200)
    const other = provider({ allow: [`api.test:${server.port + 1}`, 'example.test'] })
    expect((await callFetchError(other, { url: at('api.test') })).code).toBe('DENIED')
    expect((await callFetchError(other, { url: at('example.test') })).code).toBe('DENIED')
  })

  test('deny wins over allow', async () => {
    const p = provider({ allow: ['*.example.test:*'], deny: ['internal.example.test:*'] })
    const error = await callFetchError(p, { url: at('internal.example.test') })
    expect(error.code).toBe('DENIED')
    expect(error.message).toContain('is denied')
    expect(server.requests).toHaveLength(0)
  })

  test('only https is allowed by default; http and other schemes are refused', async () => {
    const p = httpProvider({ allow: ['api.test:*'], lookup, allowPrivateAddresses: ['127.0.0.1'] })
    providers.push(p)
    for (const url of [
      at('api.test'),
      'ftp://api.test/',
      'file:///etc/passwd',
      'ws://api.test/',
      'data:text/plain,hi',
    ]) {
      const error = await callFetchError(p, { url })
      expect(error.code, url).toBe('DENIED')
      expect(error.message, url).toContain('scheme')
    }
    expect(server.requests).toHaveLength(0)
  })

  test('methods outside the configured list are refused; the check is case-insensitive', async () => {
    const p = provider({ allow: ['api.test:*'], methods: ['get', 'HEAD'] })
    expect((await callFetch(p, { url: at('api.test'), method: 'get' })).status).toBe(200)
    for (const method of ['POST', 'DELETE', 'TRACE', 'CONNECT']) {
      const error = await callFetchError(p, { url: at('api.test'), method })
      expect(error.code, method).toBe('DENIED')
    }
    expect(server.requests).toHaveLength(1)
  })

  test('URLs with user info are refused', async () => {
    const p = provider({ allow: ['api.test:*'] })
    for (const url of [
      `http://user:pw@api.test:${server.port}/`,
      `http://user@api.test:${server.port}/`,
      `http://:pw@api.test:${server.port}/`,
    ]) {
      const error = await callFetchError(p, { url })
      expect(error.code, url).toBe('DENIED')
      expect(error.message).toContain('credentials')
    }
    expect(server.requests).toHaveLength(0)
  })
})

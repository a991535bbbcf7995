import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { AddressPolicy } from '../src/addressPolicy.js'
import {
  createGuardedConnector,
  createGuardedLookup,
  ForbiddenAddressError,
} from '../src/guardedConnector.js'
import { httpProvider } from '../src/httpProvider.js'
import type { HttpProviderOptions } from '../src/httpProviderOptions.js'
import { callFetch, callFetchError, startServer, type TestServer, tableLookup } from './helpers.js'

let server: TestServer
let keepAliveServer: TestServer

beforeAll(async () => {
  // Closes every connection after answering, so each request needs a new connection (and a new lookup).
  server = await startServer((_req, res) => {
    res.setHeader('connection', 'close')
    res.end('ok')
  })
  keepAliveServer = await startServer((_req, res) => res.end('ok'))
})
afterAll(async () => {
  await server.close()
  await keepAliveServer.close()
})

const providers: Array<{ dispose(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.dispose()))
  server.requests.length = 0
})

function provider(options: Partial<HttpProviderOptions>) {
  const p = httpProvider({ allow: ['*.test:*'], schemes: ['http', 'https'], ...options })
  providers.push(p)
  return p
}

describe('IP literals in URLs', () => {
  const spellings = [
    ['decimal', 'http://2130706433:PORT/'],
    ['octal', 'http://0177.0.0.1:PORT/'],
    ['hex', 'http://0x7f.1:PORT/'],
    ['short', 'http://127.1:PORT/'],
    ['percent-encoded', 'http://%31%32%37.0.0.1:PORT/'],
    ['dotted', 'http://127.0.0.1:PORT/'],
  ] as const

  for (const [name, template] of spellings) {
    test(`refuses loopback written in ${name} form, and reaches it once 127.0.0.1 is allowed`, async () => {
      const url = template.replace('PORT', String(server.port))
      const refused = await callFetchError(provider({ allow: ['127.0.0.1:*'] }), { url })
      expect(refused.code).toBe('DENIED')
      expect(refused.message).toMatch(/loopback/)
      expect(server.requests).toHaveLength(0)
      // The normalised address is what gets checked, and what the allowlist and connection see.
      const allowed = await callFetch(
        provider({ allow: ['127.0.0.1:*'], allowPrivateAddresses: ['127.0.0.1'] }),
        { url },
      )
      expect(allowed.url).toBe(`http://127.0.0.1:${server.port}/`)
      expect(server.requests).toHaveLength(1)
    })
  }

  test('refuses IPv6 loopback, IPv4-mapped and translated loopback, and IPv4-compatible forms', async () => {
    const p = provider({ allow: ['[::1]:*', '[::ffff:7f00:1]:*', '[::ffff:0:7f00:1]:*', '[::7f00:1]:*'] })
    for (const url of [
      'http://[::1]:1/',
      'http://[::ffff:127.0.0.1]:1/',
      'http://[0:0:0:0:0:ffff:7f00:1]:1/',
      'http://[::ffff:0:127.0.0.1]:1/',
      'http://[::127.0.0.1]:1/',
    ]) {
      const error = await callFetchError(p, { url })
      expect(error.code, url).toBe('DENIED')
      expect(error.message, url).toMatch(/not a public address/)
    }
  })

  test('refuses private, link-local, metadata, CGNAT, unspecified, broadcast, multicast and reserved IPv4 literals', async () => {
    const addresses = [
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '255.255.255.255',
      '224.0.0.1',
      '240.0.0.1',
      '192.0.2.1',
      '198.18.0.1',
    ]
    const p = provider({ allow: addresses })
    for (const address of addresses) {
      const error = await callFetchError(p, { url: `https://${address}/` })
      expect(error.code, address).toBe('DENIED')
      expect(error.message, address).toMatch(/not a public address/)
    }
    expect((await callFetchError(p, { url: 'https://0/' })).code).toBe('DENIED')
  })

  test('refuses IPv6 unique-local, link-local, metadata, NAT64/6to4/Teredo-embedded private addresses', async () => {
    const addresses = [
      'fd00:ec2::254',
      'fc00::1',
      'fe80::1',
      'ff02::1',
      '::',
      '64:ff9b::a00:1',
      '2002:a00:1::1',
      '2001:0:4136:e378:8000:63bf:80ff:fffe',
      'fec0::1',
    ]
    const p = provider({ allow: addresses.map((a) => `[${a}]`) })
    for (const address of addresses) {
      const error = await callFetchError(p, { url: `https://[${address}]/` })
      expect(error.code, address).toBe('DENIED')
    }
  })
})

describe('AddressPolicy', () => {
  const policy = new AddressPolicy()

  test('allows public unicast addresses, including IPv6 forms embedding a public IPv4', () => {
    for (const address of [
      '93.184.215.14',
      '8.8.8.8',
      '2606:4700::1111',
      '::ffff:8.8.8.8',
      '64:ff9b::808:808',
      '2002:808:808::1',
    ]) {
      expect(policy.check(address), address).toBeNull()
    }
  })

  test('names the range of each forbidden address', () => {
    expect(policy.check('127.0.0.1')).toBe('loopback')
    expect(policy.check('10.0.0.1')).toBe('private')
    expect(policy.check('169.254.169.254')).toBe('metadata')
    expect(policy.check('fd00:ec2::254')).toBe('metadata')
    expect(policy.check('100.64.1.1')).toBe('carrierGradeNat')
    expect(policy.check('::ffff:10.0.0.1')).toMatch(/private/)
    expect(policy.check('2002:7f00:1::')).toMatch(/loopback/) // 6to4 around 127.0.0.1
    // Teredo stores the client address bit-inverted: ~7f000001 = 80fffffe.
    expect(policy.check('2001:0:4136:e378:8000:63bf:80ff:fffe')).toMatch(/loopback/)
    expect(policy.check('64:ff9b:1::1')).toBe('rfc6052')
    expect(policy.check('::7f00:1')).toBe('reserved')
    expect(policy.check('not an address')).toBe('invalid')
    expect(policy.check('2130706433')).toBe('invalid')
  })

  test('opens exactly the listed addresses and ranges, and the IPv4-mapped spelling of them', () => {
    const open = new AddressPolicy(['127.0.0.1', '10.0.0.0/8', '169.254.0.0/16'])
    expect(open.check('127.0.0.1')).toBeNull()
    expect(open.check('::ffff:127.0.0.1')).toBeNull()
    expect(open.check('127.0.0.2')).toBe('loopback')
    expect(open.check('10.9.9.9')).toBeNull()
    expect(open.check('192.168.0.1')).toBe('private')
    // A range does not open the metadata endpoint inside it; naming it exactly does.
    expect(open.check('169.254.169.254')).toBe('metadata')
    expect(new AddressPolicy(['169.254.169.254']).check('169.254.169.254')).toBeNull()
  })

  test('gives the same verdict every time, past the number of verdicts it remembers', () => {
    const open = new AddressPolicy(['127.0.0.1'])
    for (let round = 0; round < 3; round += 1) {
      expect(open.check('127.0.0.1')).toBeNull()
      expect(open.check('127.0.0.2')).toBe('loopback')
      expect(open.check('not an address')).toBe('invalid')
    }
    for (let i = 0; i < 3000; i += 1) expect(open.check(`10.${i >> 8}.${i & 255}.1`)).toBe('private')
    expect(open.check('127.0.0.2')).toBe('loopback')
    expect(open.check('127.0.0.1')).toBeNull()
  })

  test('rejects malformed entries with a TypeError naming them', () => {
    expect(() => new AddressPolicy(['localhost'])).toThrow(/"localhost" is not an IP address or CIDR/)
    expect(() => new AddressPolicy(['10.0.0.0/33'])).toThrow(/10\.0\.0\.0\/33/)
  })
})

describe('connect-time DNS checks', () => {
  test('refuses a name that resolves to loopback unless the address is allowed, without connecting', async () => {
    const { lookup } = tableLookup({ 'api.test': '127.0.0.1' })
    const error = await callFetchError(provider({ lookup }), { url: `http://api.test:${server.port}/` })
    expect(error.code).toBe('DENIED')
    expect(error.message).toMatch(
      /^host api\.test resolves to an address that is not public; .*`allowPrivateAddresses`/,
    )
    expect(error.message).not.toContain('127.0.0.1')
    expect(error.details).toEqual({ rule: 'address', option: 'allowPrivateAddresses' })
    expect(server.requests).toHaveLength(0)
  })

  test('refuses a name whose answers mix public and private addresses, whatever the order', async () => {
    const { lookup } = tableLookup({
      'mixed.test': ['93.184.215.14', '10.0.0.1'],
      'mixed2.test': ['10.0.0.1', '93.184.215.14'],
    })
    const p = provider({ lookup })
    for (const host of ['mixed.test', 'mixed2.test']) {
      const { ctx, logs } = (await import('./helpers.js')).testContext()
      const error = await callFetchError(p, { url: `http://${host}:${server.port}/` }, ctx)
      expect(error.code).toBe('DENIED')
      expect(error.message).not.toContain('10.0.0.1')
      // The host learns which address was refused; Python does not.
      expect(logs).toContainEqual(
        expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ address: '10.0.0.1' }) }),
      )
    }
  })

  test('re-resolves and re-checks on a new connection, so DNS rebinding to a private address is refused', async () => {
    const answers = ['127.0.0.1', '10.0.0.7']
    const { lookup, calls } = tableLookup({ 'rebind.test': () => answers.shift() ?? '10.0.0.7' })
    const p = provider({ lookup, allowPrivateAddresses: ['127.0.0.1'] })
    const first = await callFetch(p, { url: `http://rebind.test:${server.port}/` })
    expect(first.status).toBe(200)
    // The server closed the first connection, so the second request dials again and resolves again.
    const second = await callFetchError(p, { url: `http://rebind.test:${server.port}/` })
    expect(second.code).toBe('DENIED')
    expect(calls).toEqual(['rebind.test', 'rebind.test'])
    expect(server.requests).toHaveLength(1)
  })

  test('does not share a kept-alive connection across origins: another name on the same address is checked on its own', async () => {
    const { lookup, calls } = tableLookup({ 'a.test': '127.0.0.1', 'b.test': '10.0.0.9' })
    const p = provider({ lookup, allowPrivateAddresses: ['127.0.0.1'] })
    await callFetch(p, { url: `http://a.test:${keepAliveServer.port}/` })
    expect(calls).toEqual(['a.test'])
    const error = await callFetchError(p, { url: `http://b.test:${keepAliveServer.port}/` })
    expect(error.code).toBe('DENIED')
    expect(calls).toEqual(['a.test', 'b.test'])
  })

  test('the guarded lookup answers in the shape the caller asked for', async () => {
    const { lookup } = tableLookup({ 'two.test': ['93.184.215.14', '2606:4700::1111'] })
    const guarded = createGuardedLookup(new AddressPolicy(), lookup)
    const all = await new Promise((resolve, reject) =>
      guarded('two.test', { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
    )
    expect(all).toEqual([
      { address: '93.184.215.14', family: 4 },
      { address: '2606:4700::1111', family: 6 },
    ])
    const one = await new Promise((resolve, reject) =>
      guarded('two.test', {}, (err, address, family) => (err ? reject(err) : resolve([address, family]))),
    )
    expect(one).toEqual(['93.184.215.14', 4])
  })

  test('the connector refuses a forbidden IP literal itself, since Node skips lookup for IPs', async () => {
    const connect = createGuardedConnector({ policy: new AddressPolicy() })
    const error = await new Promise<Error | null>((resolve) =>
      connect(
        { hostname: '127.0.0.1', host: '127.0.0.1', protocol: 'http:', port: String(server.port) },
        (...args) => resolve(args[0]),
      ),
    )
    expect(error).toBeInstanceOf(ForbiddenAddressError)
    expect(server.requests).toHaveLength(0)
  })
})

import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { httpProvider } from '../src/httpProvider.js'
import { callFetch, callFetchError, startServer, type TestServer, tableLookup } from './helpers.js'

let target: TestServer
let proxy: http.Server
let proxyPort: number
/** Every request or CONNECT the proxy saw. */
const proxyHits: string[] = []
const { lookup } = tableLookup({ 'api.test': '127.0.0.1' })

beforeAll(async () => {
  target = await startServer((_req, res) => res.end('from target'))
  // A recording proxy: plain requests are answered by the proxy itself; CONNECT tunnels to the
  // requested port on 127.0.0.1 (the proxy's own "DNS" for *.test).
  proxy = http.createServer((req, res) => {
    proxyHits.push(`${req.method} ${req.url}`)
    res.end('from proxy')
  })
  proxy.on('connect', (req, socket, head) => {
    proxyHits.push(`CONNECT ${req.url}`)
    const port = Number((req.url ?? '').split(':').pop())
    const upstream = net.connect(port, '127.0.0.1', () => {
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      upstream.write(head)
      upstream.pipe(socket)
      socket.pipe(upstream)
    })
    upstream.on('error', () => socket.destroy())
    socket.on('error', () => upstream.destroy())
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  proxyPort = (proxy.address() as AddressInfo).port
})
afterAll(async () => {
  await target.close()
  proxy.closeAllConnections()
  await new Promise<void>((resolve) => proxy.close(() => resolve()))
})

const providers: Array<{ dispose(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.dispose()))
  proxyHits.length = 0
  target.requests.length = 0
})

const PROXY_VARIABLES = [
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'all_proxy',
] as const

describe('proxies', () => {
  test('HTTP_PROXY, HTTPS_PROXY and friends in the environment are ignored', async () => {
    const saved = PROXY_VARIABLES.map((name) => [name, process.env[name]] as const)
    const noProxy = process.env.NO_PROXY
    try {
      for (const name of PROXY_VARIABLES) process.env[name] = `http://127.0.0.1:${proxyPort}`
      delete process.env.NO_PROXY
      const p = httpProvider({
        allow: ['api.test:*'],
        schemes: ['http'],
        allowPrivateAddresses: ['127.0.0.1'],
        lookup,
      })
      providers.push(p)
      const result = await callFetch(p, { url: `http://api.test:${target.port}/` })
      expect(Buffer.from(result.body).toString()).toBe('from target')
      expect(proxyHits).toEqual([])
    } finally {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name]
        else process.env[name] = value
      }
      if (noProxy !== undefined) process.env.NO_PROXY = noProxy
    }
  })

  test('an explicit proxy carries every request, and the URL rules still apply to the target', async () => {
    const p = httpProvider({
      allow: ['api.test:*', '[::1]:*'],
      schemes: ['http'],
      proxy: `http://127.0.0.1:${proxyPort}`,
    })
    providers.push(p)
    const result = await callFetch(p, { url: `http://api.test:${target.port}/via-proxy` })
    expect(Buffer.from(result.body).toString()).toBe('from target')
    expect(proxyHits).toEqual([`CONNECT api.test:${target.port}`])
    expect(target.requests.map((r) => r.url)).toEqual(['/via-proxy'])
    proxyHits.length = 0
    const denied = await callFetchError(p, { url: `http://elsewhere.test:${target.port}/` })
    expect(denied.code).toBe('DENIED')
    const literal = await callFetchError(p, { url: 'http://[::1]/' })
    expect(literal.code).toBe('DENIED')
    expect(literal.message).toContain('not a public address')
    expect(proxyHits).toEqual([])
  })
})

import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { httpProvider } from '../src/httpProvider.js'
import type { HttpProviderOptions } from '../src/httpProviderOptions.js'
import { callFetch, callFetchError, startServer, type TestServer } from './helpers.js'

let server: TestServer
beforeAll(async () => {
  server = await startServer((_req, res) => res.end('ok'))
})
afterAll(() => server.close())

const providers: Array<{ dispose(): Promise<void> }> = []
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.dispose()))
})
function provider(options: HttpProviderOptions) {
  const p = httpProvider(options)
  providers.push(p)
  return p
}

describe('a denial names the option and value that would allow the call', () => {
  test('reaching a local HTTP server: scheme, then port, then private address, each with its fix', async () => {
    const url = `http://127.0.0.1:${server.port}/`
    const scheme = await callFetchError(provider({ allow: ['127.0.0.1'] }), { url })
    expect(scheme.code).toBe('DENIED')
    expect(scheme.message).toContain('add "http" to the http provider\'s `schemes` option')
    expect(scheme.details).toEqual({ rule: 'scheme', option: 'schemes', value: 'http' })

    const port = await callFetchError(provider({ allow: ['127.0.0.1'], schemes: ['http'] }), { url })
    expect(port.message).toContain(`add "127.0.0.1:${server.port}" (or "127.0.0.1:*" for any port)`)
    expect(port.details).toEqual({ rule: 'allow', option: 'allow', value: `127.0.0.1:${server.port}` })

    const address = await callFetchError(provider({ allow: ['127.0.0.1:*'], schemes: ['http'] }), { url })
    expect(address.message).toContain(
      'list "127.0.0.1" in the http provider\'s `allowPrivateAddresses` option',
    )
    expect(address.details).toEqual({ rule: 'address', option: 'allowPrivateAddresses', value: '127.0.0.1' })

    const fixed = provider({
      allow: ['127.0.0.1:*'],
      schemes: ['http'],
      allowPrivateAddresses: ['127.0.0.1'],
    })
    expect(await callFetch(fixed, { url })).toMatchObject({ status: 200 })
  })

  test('an unlisted host, a denied host and a method each name their option', async () => {
    const p = provider({ allow: ['api.example.com'], deny: ['*.example.com'], methods: ['GET'] })
    const unknown = await callFetchError(p, { url: 'https://other.example.org/' })
    expect(unknown.message).toContain('add "other.example.org" to the http provider\'s `allow` option')
    const denied = await callFetchError(p, { url: 'https://x.example.com/' })
    expect(denied.message).toContain('`deny` rule "*.example.com"')
    expect(denied.details).toMatchObject({ option: 'deny', value: '*.example.com' })
    const method = await callFetchError(p, { url: 'https://api.example.com/', method: 'PUT' })
    expect(method.message).toContain('add "PUT" to the http provider\'s `methods` option')
  })

  test('a message never carries the credentials it refuses', async () => {
    const p = provider({ allow: ['api.example.com'] })
    const error = await callFetchError(p, { url: 'https://user:hunter2@api.example.com/' })
    expect(error.message).not.toContain('hunter2')
    expect(error.message).toContain('`injectHeaders`')
  })
})

import { runProviderContract } from '@capsule/contract-tests'
import { describe, expect, test } from 'vitest'
import type { FetchOutput } from '../src/fetchSchemas.js'
import { httpProvider } from '../src/index.js'
import { startServer, type TestServer, tableLookup } from './helpers.js'

// The http provider against the shared provider contract, with a real node:http server on 127.0.0.1.
// Loopback is private, so it takes both halves of the guard: a host rule (`127.0.0.1:*`) and an entry in
// allowPrivateAddresses. The denied call names a host off the allowlist; the lookup hook answers every
// name with ENOTFOUND and records it, so no query ever leaves the machine and the test can prove the
// denied host was never resolved.

const MAX_RESPONSE_BYTES = 64 * 1024

let server: TestServer | undefined
const dns = tableLookup({})

function origin(): string {
  if (!server) throw new Error('the test server is not running')
  return `http://127.0.0.1:${server.port}`
}

runProviderContract(
  () =>
    httpProvider({
      allow: ['127.0.0.1:*'],
      schemes: ['http'],
      allowPrivateAddresses: ['127.0.0.1'],
      maxResponseBytes: MAX_RESPONSE_BYTES,
      lookup: dns.lookup,
    }),
  {
    setup: async () => {
      server = await startServer((req, res) => {
        if (req.url === '/hello') {
          res.setHeader('content-type', 'text/plain')
          res.end('hello')
        } else if (req.url === '/slow') {
          // Never answers: only the client closing the connection (or the server closing) ends it.
        } else if (req.url === '/big') {
          res.end(Buffer.alloc(MAX_RESPONSE_BYTES + 1, 'x'))
        } else {
          res.statusCode = 404
          res.end()
        }
      })
    },
    teardown: async () => {
      await server?.close()
      server = undefined
    },
    // What a call could change: what the server was sent.
    snapshot: () => server?.requests.map((request) => `${request.method} ${request.url}`),
    capabilities: {
      fetch: {
        valid: () => ({ url: `${origin()}/hello` }),
        invalid: () => ({ url: `${origin()}/hello`, method: 42 }),
        denied: { url: 'http://evil.test/' },
        slow: () => ({ url: `${origin()}/slow` }),
        // A credential where one belongs: the audit redacts the header, and no failure may quote it.
        secret: (token) => ({ url: `${origin()}/hello`, headers: { Authorization: `Bearer ${token}` } }),
        errors: [
          { args: { url: 'ftp://127.0.0.1/' }, code: 'DENIED' },
          { args: () => ({ url: `${origin()}/hello`, body: 'x', json: { a: 1 } }), code: 'INVALID_ARGUMENT' },
          { args: () => ({ url: `${origin()}/hello`, headers: { Host: 'x' } }), code: 'INVALID_ARGUMENT' },
          { args: () => ({ url: `${origin()}/big` }), code: 'LIMIT_EXCEEDED' },
        ],
        check: (value) => {
          const output = value as FetchOutput
          expect(output.status).toBe(200)
          expect(output.url).toBe(`${origin()}/hello`)
          expect(Buffer.from(output.body).toString()).toBe('hello')
          expect(output.headers).toContainEqual(['content-type', 'text/plain'])
        },
      },
    },
  },
)

// Runs after the contract's describe block (vitest keeps declaration order within a file).
describe('http provider under the contract', () => {
  test('never resolved the denied host: the host rule refuses it before any DNS query', () => {
    expect(dns.calls).not.toContain('evil.test')
  })
})

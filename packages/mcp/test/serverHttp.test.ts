import { request as httpRequest } from 'node:http'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { type HttpServerProcess, resultText, startHttpServer, structured } from './capsuleMcpHarness.js'

// Child processes (tsx compiling the CLI, a Python worker, an MCP server) start slowly on a loaded machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 })

// `capsule mcp --http`: Streamable HTTP on 127.0.0.1 with a bearer token, through the SDK's client and
// through raw requests a client should never send.

const TOKEN = 'test-token-0123456789abcdef'
let server: HttpServerProcess

beforeAll(async () => {
  server = await startHttpServer([], { CAPSULE_MCP_TOKEN: TOKEN })
})

afterAll(async () => {
  await server?.stop()
})

async function connect(
  options: { token?: string; modern?: boolean; elicitation?: boolean } = {},
): Promise<Client> {
  const client = new Client(
    { name: 'capsule-http-test', version: '1.0.0' },
    {
      ...(options.modern ? { versionNegotiation: { mode: 'auto' as const } } : {}),
      ...(options.elicitation ? { capabilities: { elicitation: { form: {} } } } : {}),
    },
  )
  await client.connect(
    new StreamableHTTPClientTransport(new URL(server.url), {
      requestInit: { headers: { Authorization: `Bearer ${options.token ?? TOKEN}` } },
    }),
    { timeout: 30_000 },
  )
  return client
}

/** A raw HTTP request with headers fetch() would not let a test set (Host). */
function raw(
  headers: Record<string, string>,
  body?: string,
  method = 'POST',
): Promise<{ status: number; body: string }> {
  const url = new URL(server.url)
  return new Promise((resolve, reject) => {
    let answered = false
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method,
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${TOKEN}`,
          ...headers,
        },
      },
      (res) => {
        answered = true
        let text = ''
        res.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }))
      },
    )
    // A server that refuses a body early closes the connection while it is still being written.
    req.on('error', (error) => setTimeout(() => answered || reject(error), 200))
    if (body === '') req.flushHeaders()
    else req.end(body)
  })
}

const INITIALIZE = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
})

describe('capsule mcp --http', () => {
  test('listens on 127.0.0.1 and says a token is required', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/)
    expect(server.stderr()).toContain('bearer token required')
  })

  test('each MCP session has its own persistent namespace', async () => {
    const first = await connect()
    const second = await connect()
    try {
      await first.callTool({ name: 'run_python', arguments: { code: 'who = "first"' } })
      await second.callTool({ name: 'run_python', arguments: { code: 'who = "second"' } })
      const a = await first.callTool({ name: 'run_python', arguments: { code: 'who' } })
      const b = await second.callTool({ name: 'run_python', arguments: { code: 'who' } })
      expect(structured(a).value).toEqual({ 'text/plain': "'first'" })
      expect(structured(b).value).toEqual({ 'text/plain': "'second'" })
      expect(structured(a).session_id).not.toBe(structured(b).session_id)
    } finally {
      await first.close()
      await second.close()
    }
  })

  test('stateless (2026-07-28) requests share one default session; session_id "new" starts a private one', async () => {
    const client = await connect({ modern: true })
    try {
      expect(client.getProtocolEra()).toBe('modern')
      const first = await client.callTool({ name: 'run_python', arguments: { code: 'n = 5' } })
      const again = await client.callTool({ name: 'run_python', arguments: { code: 'n * 2' } })
      expect(structured(again).value).toEqual({ 'text/plain': '10' })
      const fresh = await client.callTool({
        name: 'run_python',
        arguments: { code: 'm = "mine"', session_id: 'new' },
      })
      const sessionId = structured(fresh).session_id
      expect(sessionId).toMatch(/^ses_/)
      expect(sessionId).not.toBe(structured(first).session_id)
      const mine = await client.callTool({
        name: 'run_python',
        arguments: { code: '(m, "n" in dir())', session_id: sessionId },
      })
      expect(structured(mine).value).toEqual({ 'text/plain': "('mine', False)" })
    } finally {
      await client.close()
    }
  })

  test('input() over a stateless (2026-07-28) connection: an input_required round the client answers', async () => {
    const client = await connect({ modern: true, elicitation: true })
    const prompts: string[] = []
    client.setRequestHandler('elicitation/create', async (request) => {
      prompts.push(String(request.params.message))
      return { action: 'accept', content: { answer: 'blue' } }
    })
    try {
      expect(client.getProtocolEra()).toBe('modern')
      const result = await client.callTool({
        name: 'run_python',
        arguments: { code: 'print("asking")\ncolour = input("Colour? ")\ncolour.upper()', session_id: 'new' },
      })
      expect(prompts).toEqual(['Colour? '])
      expect(structured(result)).toMatchObject({
        status: 'ok',
        stdout: 'asking\n',
        value: { 'text/plain': "'BLUE'" },
      })
    } finally {
      await client.close()
    }
  })

  test('a wrong or missing token is refused with 401', async () => {
    await expect(connect({ token: 'not-the-token-at-all' })).rejects.toThrow()
    const missing = await raw({ authorization: '' }, INITIALIZE)
    expect(missing.status).toBe(401)
  })

  test('another Host (DNS rebinding) or a foreign Origin is refused with 403', async () => {
    const host = await raw({ host: 'evil.example:80' }, INITIALIZE)
    expect(host.status).toBe(403)
    const origin = await raw({ origin: 'https://evil.example' }, INITIALIZE)
    expect(origin.status).toBe(403)
    const local = await raw({ origin: 'http://localhost:3000' }, INITIALIZE)
    expect(local.status).toBe(200)
  })

  test('garbage gets a clear error and disturbs nothing', async () => {
    const client = await connect()
    try {
      await client.callTool({ name: 'run_python', arguments: { code: 'state = "intact"' } })
      const notJson = await raw({}, '{"jsonrpc": "2.0", "id": 1, "method": ')
      expect(notJson.status).toBe(400)
      expect(notJson.body).toContain('Parse error')
      const unknownSession = await raw(
        { 'mcp-session-id': 'no-such-session' },
        '{"jsonrpc":"2.0","id":2,"method":"tools/list"}',
      )
      expect(unknownSession.status).toBe(404)
      const wrongPath = await new Promise<number>((resolve, reject) => {
        const url = new URL(server.url)
        httpRequest({ host: url.hostname, port: url.port, path: '/other', method: 'GET' }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
          .on('error', reject)
          .end()
      })
      expect(wrongPath).toBe(404)
      // A body declared larger than 4 MiB is refused before a byte of it is read.
      const huge = await raw({ 'content-length': String(5 * 1024 * 1024) }, '')
      expect(huge.status).toBe(413)
      const still = await client.callTool({ name: 'run_python', arguments: { code: 'state' } })
      expect(resultText(still)).toBe("'intact'")
    } finally {
      await client.close()
    }
  })
})

describe('capsule mcp --http options', () => {
  test('binding another address without a token is refused before anything starts', async () => {
    await expect(startHttpServer(['--host', '0.0.0.0'], { CAPSULE_MCP_TOKEN: '' })).rejects.toThrow(
      /binding 0\.0\.0\.0 exposes Python to the network; give a token/,
    )
  })
})

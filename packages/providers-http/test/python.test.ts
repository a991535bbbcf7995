import { existsSync } from 'node:fs'
import type http from 'node:http'
import { type AuditEntry, Capsule, type CapsuleOptions } from '@capsule/core'
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest'
import { httpProvider } from '../src/index.js'
import { type ReceivedRequest, startServer, type TestServer, tableLookup } from './helpers.js'

// The Python surface of http.fetch end to end: a real Capsule, the real Python worker, a real
// node:http server on 127.0.0.1. The worker wraps each result in an httpx-like Response.

const SECRET = 'sekrit-injected-7f3a'
const PYTHON_TOKEN = 'py-token-91c2'
const BARRIER_SIZE = 8

let server: TestServer
/** Requests held at the barrier route until BARRIER_SIZE of them are in flight at once. */
let barrier: http.ServerResponse[] = []
let maxInFlight = 0
/** Resolves when a request to /hang arrives, and when its connection closes. */
let hang: { arrived: Promise<void>; closed: Promise<void> }
let onHangArrived: () => void = () => {}
let onHangClosed: () => void = () => {}
const dns = tableLookup({})

function resetHang(): void {
  hang = {
    arrived: new Promise((resolve) => {
      onHangArrived = resolve
    }),
    closed: new Promise((resolve) => {
      onHangClosed = resolve
    }),
  }
}

beforeAll(async () => {
  server = await startServer((req, res, body) => {
    const url = new URL(req.url ?? '/', 'http://x')
    switch (url.pathname) {
      case '/json':
        res.setHeader('Content-Type', 'Application/JSON; charset=utf-8')
        res.end(JSON.stringify({ name: 'café', n: 1 }))
        return
      case '/redirect':
        res.writeHead(302, { Location: '/json' }).end()
        return
      case '/echo':
        // Echoes what the request carried, except headers (the secret must not come back this way).
        res.setHeader('content-type', 'application/json')
        res.end(
          JSON.stringify({
            method: req.method,
            contentType: req.headers['content-type'] ?? null,
            body: body.toString('utf8'),
          }),
        )
        return
      case '/barrier': {
        barrier.push(res)
        maxInFlight = Math.max(maxInFlight, barrier.length)
        if (barrier.length === BARRIER_SIZE) {
          for (const [index, held] of barrier.entries()) held.end(`reply ${index}`)
          barrier = []
        }
        return
      }
      case '/hang':
        req.socket.once('close', () => onHangClosed())
        onHangArrived()
        return
      case '/plain':
        res.end('ok')
        return
      default:
        res.statusCode = 404
        res.end('no such page')
    }
  })
})
afterAll(() => server.close())

const capsules: Capsule[] = []
afterEach(async () => {
  await Promise.all(capsules.splice(0).map((capsule) => capsule.close()))
  server.requests.length = 0
})

function base(): string {
  return `http://127.0.0.1:${server.port}`
}

async function open(options: Partial<CapsuleOptions> = {}) {
  const audit: AuditEntry[] = []
  const capsule = new Capsule({
    sandbox: 'none',
    level: 'standard',
    providers: [
      httpProvider({
        allow: ['127.0.0.1:*'],
        schemes: ['http'],
        allowPrivateAddresses: ['127.0.0.1'],
        injectHeaders: [{ host: '127.0.0.1:*', headers: { 'X-Secret-Token': SECRET } }],
        lookup: dns.lookup,
      }),
    ],
    onAudit: (entry) => audit.push(entry),
    ...options,
  })
  capsules.push(capsule)
  const session = await capsule.session()
  await session.run(`import asyncio, capsule\nBASE = ${JSON.stringify(base())}`)
  return { session, audit }
}

/** Runs `code`, then prints `expression` as JSON, and returns it parsed. */
async function answer(
  session: Awaited<ReturnType<typeof open>>['session'],
  code: string,
  expression: string,
): Promise<unknown> {
  const result = await session.run(`import json as _json\n${code}\nprint(_json.dumps(${expression}))`)
  if (result.status !== 'ok') throw new Error(`the cell failed: ${result.error?.traceback.join('')}`)
  return JSON.parse(result.stdout)
}

function headersOf(request: ReceivedRequest | undefined): http.IncomingHttpHeaders {
  if (!request) throw new Error('the server received no request')
  return request.headers
}

describe('fetch from Python', () => {
  test('returns an httpx-like Response: status, case-insensitive headers, content, text, json, ok', async () => {
    const { session } = await open()
    const seen = await answer(
      session,
      'r = fetch(BASE + "/json")',
      '{"status": r.status_code, "ctype": r.headers["content-type"], "CTYPE": r.headers["CONTENT-TYPE"],' +
        ' "content": list(r.content[:2]), "is_bytes": isinstance(r.content, bytes), "text": r.text,' +
        ' "json": r.json(), "ok": r.ok, "url": r.url, "repr": repr(r)}',
    )
    expect(seen).toEqual({
      status: 200,
      ctype: 'Application/JSON; charset=utf-8',
      CTYPE: 'Application/JSON; charset=utf-8',
      content: [0x7b, 0x22],
      is_bytes: true,
      text: '{"name":"café","n":1}',
      json: { name: 'café', n: 1 },
      ok: true,
      url: `${base()}/json`,
      repr: '<Response [200 OK]>',
    })
  })

  test('.url is the final URL after a redirect', async () => {
    const { session } = await open()
    const seen = await answer(session, 'r = fetch(BASE + "/redirect")', '[r.status_code, r.url]')
    expect(seen).toEqual([200, `${base()}/json`])
    expect(server.requests.map((request) => request.url)).toEqual(['/redirect', '/json'])
  })

  test('raise_for_status() raises capsule.HTTPStatusError on a 404, carrying the response', async () => {
    const { session } = await open()
    const seen = await answer(
      session,
      [
        'r = fetch(BASE + "/missing")',
        'try:',
        '    r.raise_for_status()',
        '    out = None',
        'except capsule.HTTPStatusError as e:',
        '    out = [r.ok, e.response.status_code, e.response.text, str(e)]',
      ].join('\n'),
      'out',
    )
    expect(seen).toEqual([
      false,
      404,
      'no such page',
      `Client error '404 Not Found' for url '${base()}/missing'`,
    ])
    // A 2xx passes and returns the response itself.
    const ok = await answer(session, 'r = fetch(BASE + "/plain")', 'r.raise_for_status() is r')
    expect(ok).toBe(true)
  })

  test('POST with json= sends a JSON body the server echoes back', async () => {
    const { session } = await open()
    const seen = await answer(
      session,
      'r = fetch(BASE + "/echo", method="POST", json={"a": [1, 2], "b": "é"})',
      'r.json()',
    )
    expect(seen).toMatchObject({ method: 'POST', contentType: 'application/json' })
    expect(JSON.parse((seen as { body: string }).body)).toEqual({ a: [1, 2], b: 'é' })
  })

  test('awaited fetches under asyncio.gather are in flight at the same time', async () => {
    const { session } = await open()
    maxInFlight = 0
    // The server answers none of them until all eight are in flight: sequential calls would hang.
    const seen = await answer(
      session,
      `rs = await asyncio.gather(*(fetch(BASE + "/barrier?i=%d" % i) for i in range(${BARRIER_SIZE})))`,
      'sorted(r.text for r in rs)',
    )
    expect(seen).toEqual(Array.from({ length: BARRIER_SIZE }, (_, i) => `reply ${i}`))
    expect(maxInFlight).toBe(BARRIER_SIZE)
  })

  test('sync fetches in a loop work one after another', async () => {
    const { session } = await open()
    const seen = await answer(session, 'texts = [fetch(BASE + "/plain").text for _ in range(5)]', 'texts')
    expect(seen).toEqual(['ok', 'ok', 'ok', 'ok', 'ok'])
  })

  test('a host off the allowlist raises capsule.CapabilityDenied, without a DNS query or a request', async () => {
    const { session, audit } = await open()
    const seen = await answer(
      session,
      [
        'try:',
        '    fetch("http://evil.test/")',
        '    out = None',
        'except capsule.CapabilityDenied as e:',
        '    out = [e.code, isinstance(e, PermissionError)]',
      ].join('\n'),
      'out',
    )
    expect(seen).toEqual(['DENIED', true])
    expect(dns.calls).not.toContain('evil.test')
    expect(server.requests).toEqual([])
    expect(audit.find((entry) => entry.type === 'outcome')?.errorCode).toBe('DENIED')
  })

  test('interrupting the execution aborts the request in flight: the server sees the connection close', async () => {
    const { session } = await open()
    resetHang()
    const running = session.run('fetch(BASE + "/hang")')
    await hang.arrived
    await session.interrupt()
    const result = await running
    expect(result.status).toBe('interrupted')
    expect(result.error?.ename).toBe('KeyboardInterrupt')
    await hang.closed
    // The session is still usable.
    expect((await session.run('fetch(BASE + "/plain").text')).value?.['text/plain']).toBe("'ok'")
  })

  test('an injected header reaches the server, but neither Python nor the audit log ever sees it', async () => {
    const { session, audit } = await open()
    const result = await session.run(
      [
        'r = fetch(BASE + "/echo")',
        'import pydoc',
        'print(repr(vars(r)), r.text, list(r.headers.multi_items()))',
        'print(pydoc.render_doc(fetch, renderer=pydoc.plaintext))',
        'r.status_code',
      ].join('\n'),
    )
    expect(result.value?.['text/plain']).toBe('200')
    expect(headersOf(server.requests[0])['x-secret-token']).toBe(SECRET)
    // The prints ran (so the check below looks at real output).
    expect(result.stdout).toContain(`${base()}/echo`)
    expect(result.stdout).not.toContain(SECRET)
    expect(audit.length).toBeGreaterThan(0)
    expect(JSON.stringify(audit)).not.toContain(SECRET)
  })

  test('an Authorization header set by Python reaches the server and is redacted in the audit log', async () => {
    const { session, audit } = await open()
    const result = await session.run(
      `fetch(BASE + "/plain", headers={"Authorization": "Bearer ${PYTHON_TOKEN}", "X-Trace": "t1"}).text`,
    )
    expect(result.value?.['text/plain']).toBe("'ok'")
    expect(headersOf(server.requests[0]).authorization).toBe(`Bearer ${PYTHON_TOKEN}`)
    expect(JSON.stringify(audit)).not.toContain(PYTHON_TOKEN)
    const decision = audit.find((entry) => entry.type === 'decision' && entry.capability === 'http.fetch')
    expect(decision?.args).toMatchObject({ headers: { Authorization: '[redacted]', 'X-Trace': 't1' } })
  })
})

describe('fetch from a sandboxed worker', () => {
  test.runIf(existsSync('/usr/bin/bwrap'))(
    'works although the worker has no network: the host makes the request',
    async () => {
      // On a root host the sandboxed worker runs as an unprivileged uid: use an interpreter it can reach.
      const { session } = await open({ sandbox: 'bwrap', python: '/usr/bin/python3' })
      expect(session.info().sandbox).toBe('bwrap')
      const seen = await answer(
        session,
        [
          'import socket',
          'try:',
          `    socket.create_connection(("127.0.0.1", ${server.port}), timeout=2).close()`,
          '    direct = "connected"',
          'except OSError as e:',
          '    direct = type(e).__name__',
        ].join('\n'),
        '[direct, fetch(BASE + "/json").json()]',
      )
      expect(seen).toEqual([expect.stringMatching(/Error$/), { name: 'café', n: 1 }])
    },
  )
})

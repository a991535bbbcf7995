import { createHash, randomUUID, timingSafeEqual } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { toNodeHandler } from '@modelcontextprotocol/node'
import {
  createMcpHandler,
  hostHeaderValidationResponse,
  isLegacyRequest,
  localhostAllowedHostnames,
  localhostAllowedOrigins,
  originValidationResponse,
  WebStandardStreamableHTTPServerTransport,
} from '@modelcontextprotocol/server'
import { z } from 'zod'
import type { CapsuleMcpServer } from './capsuleMcpServer.js'

/** Default time after which an HTTP MCP session nobody used is ended: 30 minutes. */
export const DEFAULT_HTTP_SESSION_IDLE_MS = 30 * 60_000
/** Default cap on 2025-era HTTP MCP sessions open at once. */
export const DEFAULT_MAX_HTTP_SESSIONS = 64

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])

const optionsSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(0),
    path: z
      .string()
      .regex(/^\/[\w\-./]*$/, 'must be a URL path like /mcp')
      .default('/mcp'),
    token: z.string().min(16, 'must be at least 16 characters').optional(),
    allowedHosts: z.array(z.string().min(1)).default([]),
    allowedOrigins: z.array(z.string().min(1)).default([]),
    sessionIdleMs: z.number().int().min(1).default(DEFAULT_HTTP_SESSION_IDLE_MS),
    maxHttpSessions: z.number().int().min(1).default(DEFAULT_MAX_HTTP_SESSIONS),
    onerror: z.custom<(error: Error) => void>((value) => typeof value === 'function').optional(),
  })
  .strict()

/** Options of {@link serveCapsuleHttp}. */
export type ServeCapsuleHttpOptions = z.input<typeof optionsSchema>

/** A listening Streamable HTTP endpoint. */
export interface CapsuleHttpHandle {
  /** The endpoint's URL, e.g. `http://127.0.0.1:8765/mcp`. */
  readonly url: string
  readonly port: number
  /** Stops listening, ends every MCP session and closes their Python sessions. Idempotent. */
  close(): Promise<void>
}

interface LegacySession {
  transport: WebStandardStreamableHTTPServerTransport
  lastUsedAt: number
}

/**
 * Serves a CapsuleMcpServer over Streamable HTTP at `http://host:port/path` (127.0.0.1 by default). Both
 * protocol eras: 2025-era clients get a stateful MCP session (`Mcp-Session-Id`) with its own Python session;
 * 2026-07-28 requests are stateless: without a `session_id` they share one Python session, and
 * `session_id: "new"` starts a private one whose id the result carries. Requests whose `Host` is
 * not this server (DNS rebinding) or whose `Origin` is a foreign web page are refused with 403; with a
 * `token`, a request without `Authorization: Bearer <token>` is refused with 401. A non-loopback `host`
 * requires a token.
 */
export async function serveCapsuleHttp(
  server: CapsuleMcpServer,
  options: ServeCapsuleHttpOptions = {},
): Promise<CapsuleHttpHandle> {
  const parsed = optionsSchema.safeParse(options)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new TypeError(`serveCapsuleHttp: options.${issue.path.join('.')} ${issue.message}`)
  }
  const settings = parsed.data
  const loopback = LOOPBACK_HOSTS.has(settings.host)
  if (!loopback && settings.token === undefined) {
    throw new TypeError(
      `serveCapsuleHttp: binding ${settings.host} exposes Python to the network; give a token (or bind 127.0.0.1)`,
    )
  }
  const allowedHosts = [...localhostAllowedHostnames(), ...settings.allowedHosts]
  if (!loopback) allowedHosts.push(settings.host.includes(':') ? `[${settings.host}]` : settings.host)
  const allowedOrigins = [...localhostAllowedOrigins(), ...settings.allowedOrigins]
  const expectedToken = settings.token === undefined ? undefined : digest(settings.token)
  const legacy = new Map<string, LegacySession>()
  // 2026-07-28 requests carry no MCP session: those without a session_id share one Python session.
  const modern = createMcpHandler(() => server.createServer(STATELESS_SCOPE), {
    legacy: 'reject',
    onerror: settings.onerror,
  })

  const endLegacy = async (id: string) => {
    const session = legacy.get(id)
    if (!session) return
    legacy.delete(id)
    await session.transport.close().catch(() => undefined)
    await server.endScope(legacyScope(id))
  }

  const serveLegacy = async (request: Request): Promise<Response> => {
    const id = request.headers.get('mcp-session-id')
    if (id !== null) {
      const session = legacy.get(id)
      if (!session) return jsonRpcError(404, -32001, 'Session not found: start a new MCP session')
      session.lastUsedAt = Date.now()
      const response = await session.transport.handleRequest(request)
      if (request.method === 'DELETE') void endLegacy(id)
      return response
    }
    if (request.method !== 'POST') {
      return jsonRpcError(400, -32000, 'Bad Request: no Mcp-Session-Id; start with an initialize POST')
    }
    if (legacy.size >= settings.maxHttpSessions) {
      return jsonRpcError(503, -32000, `the server has ${legacy.size} MCP sessions open; try again later`)
    }
    const newId = randomUUID()
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => newId,
      onsessioninitialized: (sessionId) => {
        legacy.set(sessionId, { transport, lastUsedAt: Date.now() })
      },
    })
    const instance = server.createServer(legacyScope(newId))
    await instance.connect(transport)
    const response = await transport.handleRequest(request)
    // Anything but a successful initialize (garbage, a request before initialize) leaves no session behind.
    if (!legacy.has(newId)) await instance.close().catch(() => undefined)
    return response
  }

  const fetch = async (request: Request): Promise<Response> => {
    const url = new URL(request.url)
    if (url.pathname !== settings.path)
      return jsonRpcError(404, -32000, `Not found: the MCP endpoint is ${settings.path}`)
    const rejected =
      hostHeaderValidationResponse(request, allowedHosts) ?? originValidationResponse(request, allowedOrigins)
    if (rejected) return rejected
    if (expectedToken && !authorized(request.headers.get('authorization'), expectedToken)) {
      return new Response(
        JSON.stringify({ error: 'invalid_token', error_description: 'a valid bearer token is required' }),
        {
          status: 401,
          headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="capsule"' },
        },
      )
    }
    return (await isLegacyRequest(request)) ? serveLegacy(request) : modern.fetch(request)
  }

  const sweep = setInterval(
    () => {
      const cutoff = Date.now() - settings.sessionIdleMs
      for (const [id, session] of legacy) if (session.lastUsedAt < cutoff) void endLegacy(id)
    },
    Math.min(settings.sessionIdleMs, 60_000),
  )
  sweep.unref()

  const http: Server = createServer(toNodeHandler({ fetch }, { onerror: settings.onerror }))
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(settings.port, settings.host, () => {
      http.off('error', reject)
      resolve()
    })
  })
  const port = (http.address() as AddressInfo).port
  const shownHost = settings.host.includes(':') ? `[${settings.host}]` : settings.host
  let closing: Promise<void> | undefined
  return {
    url: `http://${shownHost}:${port}${settings.path}`,
    port,
    close: () => {
      closing ??= (async () => {
        clearInterval(sweep)
        const stopped = new Promise<void>((resolve) => http.close(() => resolve()))
        await Promise.all([...legacy.keys()].map((id) => endLegacy(id)))
        await modern.close().catch(() => undefined)
        http.closeAllConnections()
        await stopped
      })()
      return closing
    },
  }
}

/** The scope of stateless (2026-07-28) HTTP requests. */
const STATELESS_SCOPE = 'http:stateless'

function legacyScope(id: string): string {
  return `http:${id}`
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest()
}

// Hashing first gives equal lengths, so the comparison time says nothing about the token.
function authorized(header: string | null, expected: Buffer): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
  return match !== null && timingSafeEqual(digest(match[1]!), expected)
}

function jsonRpcError(status: number, code: number, message: string): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json' },
  })
}

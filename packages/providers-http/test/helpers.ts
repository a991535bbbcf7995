import { readFile } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import type { AddressInfo, LookupFunction } from 'node:net'
import type { CapabilityContext, CapabilityError } from '@capsule/provider-sdk'
import { type FetchOutput, fetchInputSchema } from '../src/fetchSchemas.js'
import type { HttpProviderDefinition } from '../src/httpProvider.js'

/** A log line captured from a handler. */
export interface LogEntry {
  level: string
  message: string
  fields?: Record<string, unknown>
}

/** A real CapabilityContext backed by an AbortController, with captured logs. */
export function testContext(options: { sessionId?: string; deadline?: number } = {}) {
  const controller = new AbortController()
  const logs: LogEntry[] = []
  const log =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      logs.push({ level, message, fields })
    }
  const ctx: CapabilityContext = {
    signal: controller.signal,
    deadline: options.deadline ?? Date.now() + 60_000,
    sessionId: options.sessionId ?? 'session-1',
    executionId: 'exec-1',
    callId: `call-${Math.random().toString(36).slice(2)}`,
    capabilityId: 'http.fetch',
    level: 'standard',
    log: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') },
    progress() {},
  }
  return { ctx, controller, logs }
}

/** Calls `http.fetch` the way the registry does: arguments parsed by the input schema first. */
export async function callFetch(
  provider: HttpProviderDefinition,
  args: Record<string, unknown>,
  ctx: CapabilityContext = testContext().ctx,
): Promise<FetchOutput> {
  const capability = provider.capabilities[0]!
  const parsed = fetchInputSchema.parse(args)
  return (await capability.handler(parsed, ctx)) as FetchOutput
}

/** Calls `http.fetch` expecting a CapabilityError, and returns it. */
export async function callFetchError(
  provider: HttpProviderDefinition,
  args: Record<string, unknown>,
  ctx?: CapabilityContext,
): Promise<CapabilityError> {
  try {
    await callFetch(provider, args, ctx)
  } catch (error) {
    return error as CapabilityError
  }
  throw new Error('expected the call to fail')
}

/** A request a test server received. */
export interface ReceivedRequest {
  method: string
  url: string
  headers: http.IncomingHttpHeaders
  body: Buffer
}

/** A real server on 127.0.0.1 that records requests. */
export interface TestServer {
  port: number
  requests: ReceivedRequest[]
  close(): Promise<void>
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void

/** Starts an http (or, with `tls`, https) server on 127.0.0.1, port 0. */
export async function startServer(
  handler: Handler,
  tls?: { key: string; cert: string },
): Promise<TestServer> {
  const requests: ReceivedRequest[] = []
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      handler(req, res, body)
    })
  }
  const server = tls ? https.createServer(tls, onRequest) : http.createServer(onRequest)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A lookup hook answering from a table (name → addresses), recording each query. */
export function tableLookup(table: Record<string, string | string[] | (() => string | string[])>) {
  const calls: string[] = []
  const lookup: LookupFunction = (hostname, options, callback) => {
    calls.push(hostname)
    const entry = table[hostname]
    if (entry === undefined) {
      const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
      queueMicrotask(() => callback(error, '', undefined))
      return
    }
    const value = typeof entry === 'function' ? entry() : entry
    const list = (Array.isArray(value) ? value : [value]).map((address) => ({
      address,
      family: address.includes(':') ? 6 : 4,
    }))
    queueMicrotask(() => {
      if (options.all) callback(null, list)
      else callback(null, list[0]!.address, list[0]!.family)
    })
  }
  return { lookup, calls }
}

/**
 * The self-signed certificate of `hostname` shipped in test/fixtures (made once with openssl, so the
 * suite needs no openssl binary). Only `secure.test` exists.
 */
export async function selfSignedCertificate(hostname: string): Promise<{ key: string; cert: string }> {
  const fixtures = new URL('./fixtures/', import.meta.url)
  return {
    key: await readFile(new URL(`${hostname}.key.pem`, fixtures), 'utf8'),
    cert: await readFile(new URL(`${hostname}.cert.pem`, fixtures), 'utf8'),
  }
}

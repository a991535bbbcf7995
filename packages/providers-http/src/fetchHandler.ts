import { STATUS_CODES } from 'node:http'
import type { Readable } from 'node:stream'
import { type CapabilityContext, CapabilityError, isCapabilityError } from '@capsule/provider-sdk'
import type { Dispatcher } from 'undici'
import type { FetchInput, FetchOutput } from './fetchSchemas.js'
import { ForbiddenAddressError } from './guardedConnector.js'
import type { ResolvedHttpProviderOptions } from './httpProviderOptions.js'
import { discardBody, readResponseBody, SUPPORTED_ENCODINGS } from './readResponseBody.js'
import { RequestAbort } from './requestAbort.js'
import { BODY_HEADERS, normalizeRequestHeaders, requestHeadBytes } from './requestHeaders.js'
import { RequestPolicy } from './requestPolicy.js'
import { SENSITIVE_HEADERS } from './sensitiveHeaders.js'
import type { SessionLimiter } from './sessionLimiter.js'

/** What {@link createFetchHandler} needs: the options, the URL rules, the dispatcher and the limiter. */
export interface FetchHandlerDependencies {
  options: ResolvedHttpProviderOptions
  policy: RequestPolicy
  dispatcher: Dispatcher
  limiter: SessionLimiter
  /** True once the provider is disposed. */
  isClosed(): boolean
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])
const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// A redirect's own body is read (and dropped) up to this size so the connection can be reused.
const REDIRECT_BODY_DRAIN_BYTES = 64 * 1024

/**
 * Creates the `http.fetch` handler. One call: validate the arguments, take a session slot, then
 * for the first URL and each redirect hop check the URL rules, send with host-side headers added,
 * and either follow a redirect (re-checked from scratch) or read the capped, decoded body.
 */
export function createFetchHandler(deps: FetchHandlerDependencies) {
  const { options, policy, dispatcher, limiter } = deps
  return async function fetchHandler(args: FetchInput, ctx: CapabilityContext): Promise<FetchOutput> {
    if (deps.isClosed()) throw new CapabilityError('UNAVAILABLE', 'the http provider is closed')
    const request = prepareRequest(args, options)

    let timeoutMs = options.timeoutMs
    if (args.timeout !== null && args.timeout !== undefined)
      timeoutMs = Math.min(timeoutMs, Math.ceil(args.timeout * 1000))
    if (Number.isFinite(ctx.deadline) && ctx.deadline > 0)
      timeoutMs = Math.min(timeoutMs, Math.max(0, ctx.deadline - Date.now()))
    // One abort switch for the request: the call's cancellation or the deadline, linked by hand
    // (AbortSignal.any is costly on Node 20, and this runs for every request).
    const abort = new RequestAbort(ctx, timeoutMs)
    let release: (() => void) | undefined
    let currentHost = ''
    try {
      abort.throwIfAborted()
      release = limiter.tryAcquire(ctx.sessionId) ?? (await limiter.acquire(ctx.sessionId, abort))
      let url = policy.parse(args.url)
      // Setting the hash re-serialises the URL: only when there is one.
      if (url.hash !== '') url.hash = ''
      for (let redirects = 0; ; ) {
        policy.check(url, request.method)
        currentHost = url.host
        const headers = composeHeaders(request, url, options)
        const path = url.pathname + url.search
        if (requestHeadBytes(request.method, path, headers) > options.maxHeaderBytes) {
          throw new CapabilityError(
            'LIMIT_EXCEEDED',
            `request headers and URL are larger than ${options.maxHeaderBytes} bytes`,
          )
        }
        const response = await dispatcher.request({
          origin: url.origin,
          path,
          method: request.method as Dispatcher.HttpMethod,
          headers,
          body: request.body ?? null,
          // undici takes an emitter for a signal (see RequestAbort).
          signal: abort as unknown as AbortSignal,
          responseHeaders: 'raw',
        })
        const rawHeaders = response.headers as unknown as string[]
        const location = REDIRECT_STATUSES.has(response.statusCode)
          ? headerValue(rawHeaders, 'location')
          : undefined
        if (location !== undefined) {
          await drain(response.body)
          if (redirects >= options.maxRedirects) {
            throw new CapabilityError(
              'LIMIT_EXCEEDED',
              `too many redirects (more than ${options.maxRedirects})`,
            )
          }
          redirects++
          url = followRedirect(url, location, response.statusCode, request, policy)
          continue
        }
        const body = await readBody(response, rawHeaders, request.method, options.maxResponseBytes)
        return {
          url: url.href,
          status: response.statusCode,
          reason: (response as { statusText?: string }).statusText || STATUS_CODES[response.statusCode] || '',
          headers: pairs(rawHeaders),
          body,
        }
      }
    } catch (error) {
      throw toCapabilityError(error, {
        abort,
        timeoutMs,
        host: currentHost,
        options,
        ctx,
      })
    } finally {
      abort.dispose()
      release?.()
    }
  }
}

/** A request as it evolves over redirect hops. */
interface PendingRequest {
  method: string
  /** Python's headers, lower-case names; credentials and body headers are removed as hops demand. */
  headers: Map<string, string>
  body: Buffer | undefined
}

function prepareRequest(args: FetchInput, options: ResolvedHttpProviderOptions): PendingRequest {
  const method = args.method.toUpperCase()
  if (!METHOD_TOKEN.test(method))
    throw new CapabilityError(
      'INVALID_ARGUMENT',
      `method ${JSON.stringify(args.method)} is not a valid HTTP method`,
    )
  const headers = normalizeRequestHeaders(args.headers)
  const hasJson = args.json !== undefined && args.json !== null
  const hasBody = args.body !== undefined && args.body !== null
  if (hasJson && hasBody)
    throw new CapabilityError('INVALID_ARGUMENT', 'pass either body= or json=, not both')
  let body: Buffer | undefined
  if (hasJson) {
    let text: string | undefined
    try {
      text = JSON.stringify(args.json)
    } catch (error) {
      throw new CapabilityError('INVALID_ARGUMENT', 'json= value cannot be serialised as JSON', {
        cause: error,
      })
    }
    body = Buffer.from(text ?? 'null', 'utf8')
    if (!headers.has('content-type')) headers.set('content-type', 'application/json')
  } else if (typeof args.body === 'string') {
    body = Buffer.from(args.body, 'utf8')
  } else if (args.body instanceof Uint8Array) {
    body = Buffer.from(args.body.buffer, args.body.byteOffset, args.body.byteLength)
  }
  if (body !== undefined && body.byteLength > options.maxRequestBytes) {
    throw new CapabilityError(
      'LIMIT_EXCEEDED',
      `request body is larger than ${options.maxRequestBytes} bytes`,
      {
        details: { maxRequestBytes: options.maxRequestBytes },
      },
    )
  }
  return { method, headers, body }
}

/** Python's headers, then defaults it did not set, then the host's injected headers (which win). */
function composeHeaders(
  request: PendingRequest,
  url: URL,
  options: ResolvedHttpProviderOptions,
): Record<string, string> {
  const headers: Record<string, string> = Object.fromEntries(request.headers)
  headers['user-agent'] ??= options.userAgent
  headers['accept-encoding'] ??= SUPPORTED_ENCODINGS
  for (const rule of options.injectHeaders) {
    if (!RequestPolicy.matches(rule.host, url)) continue
    for (const [name, value] of Object.entries(rule.headers)) headers[name.toLowerCase()] = value
  }
  return headers
}

/**
 * The next hop's URL, with the request rewritten the way browsers do: 303 (and 301/302 after POST)
 * become a GET without body; leaving the origin drops credentials for good; https → http is refused.
 * The new URL is then checked from scratch by the loop.
 */
function followRedirect(
  from: URL,
  location: string,
  status: number,
  request: PendingRequest,
  policy: RequestPolicy,
): URL {
  const next = policy.parse(location, from)
  next.hash = ''
  if (from.protocol === 'https:' && next.protocol === 'http:') {
    throw new CapabilityError('DENIED', 'redirect from https to http is not allowed', {
      details: { rule: 'redirect-downgrade' },
    })
  }
  if (next.origin !== from.origin) {
    for (const name of SENSITIVE_HEADERS) request.headers.delete(name)
  }
  if (
    (status === 303 && request.method !== 'HEAD') ||
    ((status === 301 || status === 302) && request.method === 'POST')
  ) {
    request.method = 'GET'
    request.body = undefined
    for (const name of BODY_HEADERS) request.headers.delete(name)
  }
  return next
}

async function readBody(
  response: Dispatcher.ResponseData,
  rawHeaders: string[],
  method: string,
  maxBytes: number,
): Promise<Uint8Array> {
  if (method === 'HEAD' || response.statusCode === 204 || response.statusCode === 304) {
    // No body by definition; reading the (empty) rest lets the connection be reused.
    await response.body.dump({ limit: 0 }).catch(() => discardBody(response.body as unknown as Readable))
    return new Uint8Array(0)
  }
  const encoding = headerValue(rawHeaders, 'content-encoding')
  const length = Number(headerValue(rawHeaders, 'content-length'))
  // Fail before reading when the server announces an oversized plain body.
  if ((encoding === undefined || encoding.trim().toLowerCase() === 'identity') && length > maxBytes) {
    discardBody(response.body as unknown as Readable)
    throw new CapabilityError('LIMIT_EXCEEDED', `response body is larger than ${maxBytes} bytes`, {
      details: { maxResponseBytes: maxBytes },
    })
  }
  // A plain body of announced length needs no counting (the parser holds the server to that length,
  // checked against the cap above); undici gathers it without a stream of our own.
  if (encoding === undefined && Number.isSafeInteger(length)) return response.body.bytes()
  return readResponseBody(response.body as unknown as Readable, encoding, maxBytes)
}

// The request's abort switch already destroys the body, and with it this dump.
async function drain(body: Dispatcher.ResponseData['body']): Promise<void> {
  try {
    await body.dump({ limit: REDIRECT_BODY_DRAIN_BYTES })
  } catch {
    discardBody(body as unknown as Readable)
  }
}

function headerValue(raw: readonly string[], name: string): string | undefined {
  let found: string | undefined
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === name) found = found === undefined ? raw[i + 1] : `${found}, ${raw[i + 1]}`
  }
  return found
}

function pairs(raw: readonly string[]): Array<[string, string]> {
  const result: Array<[string, string]> = []
  for (let i = 0; i + 1 < raw.length; i += 2) result.push([raw[i] ?? '', raw[i + 1] ?? ''])
  return result
}

interface ErrorContext {
  /** Its `timedOut` is set when the request's own deadline fired (as opposed to a cancellation). */
  abort: RequestAbort
  timeoutMs: number
  host: string
  options: ResolvedHttpProviderOptions
  ctx: CapabilityContext
}

/**
 * Maps whatever went wrong to a CapabilityError with a message safe for Python. Deadline and
 * cancellation are decided by which signal fired, not by the error's shape, because undici reports
 * both as a destroyed socket or body.
 */
function toCapabilityError(error: unknown, where: ErrorContext): CapabilityError {
  if (isCapabilityError(error)) return error
  if (where.abort.timedOut) {
    return new CapabilityError('TIMEOUT', `request timed out after ${where.timeoutMs} ms`, { cause: error })
  }
  if (where.abort.aborted) return new CapabilityError('CANCELLED', 'request cancelled', { cause: error })
  const forbidden = findCause(error, (e): e is ForbiddenAddressError => e instanceof ForbiddenAddressError)
  if (forbidden) {
    // The address stays in the host's log: telling untrusted code what internal names resolve to helps it probe.
    where.ctx.log.warn('http.fetch refused a forbidden address', {
      hostname: forbidden.hostname,
      address: forbidden.address,
      reason: forbidden.reason,
    })
    return new CapabilityError(
      'DENIED',
      `host ${forbidden.hostname} resolves to an address that is not public; to reach it, the host lists ` +
        "that address in the http provider's `allowPrivateAddresses` option (the address is in the host's log)",
      { cause: error, details: { rule: 'address', option: 'allowPrivateAddresses' } },
    )
  }
  const code = findCode(error)
  switch (code) {
    case 'UND_ERR_HEADERS_OVERFLOW':
      return new CapabilityError(
        'LIMIT_EXCEEDED',
        `response headers are larger than ${where.options.maxHeaderBytes} bytes`,
        {
          cause: error,
        },
      )
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return new CapabilityError('TIMEOUT', `request to ${where.host} timed out`, { cause: error })
    case 'UND_ERR_INVALID_ARG':
    case 'UND_ERR_NOT_SUPPORTED':
      return new CapabilityError('INVALID_ARGUMENT', `invalid request: ${(error as Error).message}`, {
        cause: error,
      })
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new CapabilityError('UNAVAILABLE', `could not resolve host ${where.host.replace(/:\d+$/, '')}`, {
        cause: error,
      })
    default:
      return new CapabilityError(
        'UNAVAILABLE',
        `request to ${where.host || 'the server'} failed${code ? ` (${code})` : ''}`,
        {
          cause: error,
        },
      )
  }
}

function findCause<T>(error: unknown, test: (e: unknown) => e is T): T | undefined {
  let current = error
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (test(current)) return current
    current = (current as { cause?: unknown }).cause
  }
  return undefined
}

function findCode(error: unknown): string | undefined {
  const withCode = findCause(
    error,
    (e): e is { code: string } => typeof (e as { code?: unknown })?.code === 'string',
  )
  return withCode?.code
}

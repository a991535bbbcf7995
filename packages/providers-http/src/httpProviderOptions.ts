import type { LookupFunction } from 'node:net'
import { parseProviderOptions } from '@capsule/provider-sdk'
import { z } from 'zod'
import { AddressPolicy } from './addressPolicy.js'
import { type HostRule, parseHostRule } from './hostRule.js'

/** Methods allowed when `methods` is not given. CONNECT and TRACE are never allowed. */
export const DEFAULT_METHODS: readonly string[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']
/** Redirects followed when `maxRedirects` is not given. */
export const DEFAULT_MAX_REDIRECTS = 5
/** Request body cap when `maxRequestBytes` is not given: 1 MiB. */
export const DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024
/** Response body cap (counted after decompression) when `maxResponseBytes` is not given: 10 MiB. */
export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024
/** Header cap (request and response, each) when `maxHeaderBytes` is not given: 64 KiB. */
export const DEFAULT_MAX_HEADER_BYTES = 64 * 1024
/** Total deadline of one call (queueing, connects, every hop, the whole body): 30 s. */
export const DEFAULT_TIMEOUT_MS = 30_000
/** Requests one session may have in flight at once. */
export const DEFAULT_MAX_CONCURRENT_PER_SESSION = 8
/** Requests one session may have waiting for a slot; more are refused with LIMIT_EXCEEDED. */
export const DEFAULT_MAX_QUEUED_PER_SESSION = 64
/** `User-Agent` sent when neither the options nor the Python code set one. */
export const DEFAULT_USER_AGENT = 'capsule-http/0.1'

const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK'])
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const HEADER_VALUE = /^[^\r\n\0]*$/

const count = (min: number) =>
  z
    .number({ error: `must be an integer ≥ ${min}` })
    .int({ error: `must be an integer ≥ ${min}` })
    .min(min, { error: `must be an integer ≥ ${min}` })

const hostRule = z.string({ error: 'must be a host rule string' }).transform((source, ctx): HostRule => {
  try {
    return parseHostRule(source)
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message })
    return z.NEVER
  }
})

const headerMap = z.record(
  z.string().regex(TOKEN, { error: 'header names must be HTTP tokens' }),
  z.string().regex(HEADER_VALUE, { error: 'header values must not contain CR, LF or NUL' }),
)

/**
 * The zod schema of {@link HttpProviderOptions}; also the provider's `configSchema`. Parsing yields
 * {@link ResolvedHttpProviderOptions}: defaults filled, rules parsed, addresses checked.
 */
export const httpProviderOptionsSchema = z
  .object({
    allow: z.array(hostRule, { error: 'must be an array of host rules' }).min(1, {
      error: 'must list at least one host rule (e.g. "api.example.com" or "*.example.org")',
    }),
    deny: z.array(hostRule, { error: 'must be an array of host rules' }).default([]),
    schemes: z
      .array(z.enum(['http', 'https'], { error: 'must be "http" or "https"' }))
      .min(1, { error: 'must list at least one scheme' })
      .default(['https']),
    methods: z
      .array(
        z
          .string()
          .regex(TOKEN, { error: 'must be HTTP method tokens' })
          .transform((m) => m.toUpperCase())
          .refine((m) => !FORBIDDEN_METHODS.has(m), { error: 'must not include CONNECT, TRACE or TRACK' }),
      )
      .min(1, { error: 'must list at least one method' })
      .default([...DEFAULT_METHODS]),
    allowPrivateAddresses: z
      .array(z.string({ error: 'must be IP addresses or CIDRs' }))
      .default([])
      .transform((entries, ctx) => {
        try {
          return new AddressPolicy(entries)
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: `entry ${(error as Error).message}` })
          return z.NEVER
        }
      }),
    maxRedirects: count(0).default(DEFAULT_MAX_REDIRECTS),
    maxRequestBytes: count(0).default(DEFAULT_MAX_REQUEST_BYTES),
    maxResponseBytes: count(0).default(DEFAULT_MAX_RESPONSE_BYTES),
    maxHeaderBytes: count(1024).default(DEFAULT_MAX_HEADER_BYTES),
    // setTimeout fires at once beyond 2^31-1 ms; refuse rather than time out instantly.
    timeoutMs: count(1)
      .max(2_147_483_647, { error: 'must be an integer from 1 to 2147483647' })
      .default(DEFAULT_TIMEOUT_MS),
    maxConcurrentPerSession: count(1).default(DEFAULT_MAX_CONCURRENT_PER_SESSION),
    maxQueuedPerSession: count(0).default(DEFAULT_MAX_QUEUED_PER_SESSION),
    injectHeaders: z
      .array(z.object({ host: hostRule, headers: headerMap }, { error: 'must be { host, headers } objects' }))
      .default([]),
    proxy: z
      .union(
        [
          z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
          z.object({ uri: z.url(), token: z.string().optional() }),
        ],
        {
          error: 'must be a proxy URL or { uri, token? }',
        },
      )
      .optional(),
    lookup: z
      .custom<LookupFunction>((value) => typeof value === 'function', {
        error: 'must be a dns.lookup-compatible function',
      })
      .optional(),
    ca: z
      .union([z.string(), z.array(z.string())], {
        error: 'must be a PEM certificate string or an array of them',
      })
      .optional()
      .transform((ca) => (ca === undefined ? undefined : Array.isArray(ca) ? ca : [ca])),
    userAgent: z
      .string()
      .regex(HEADER_VALUE, { error: 'must not contain CR, LF or NUL' })
      .default(DEFAULT_USER_AGENT),
  })
  .strict()

/**
 * Options of {@link httpProvider}. Only `allow` is required; everything else has a safe default.
 */
export interface HttpProviderOptions {
  /**
   * Hosts Python may reach: `api.example.com`, `*.example.org` (subdomains only, not the apex),
   * `203.0.113.7`, `[2001:db8::1]`, each optionally with `:port` or `:*`. Without a port a rule
   * matches only the scheme's default port.
   */
  allow: readonly string[]
  /** Host rules that are refused even when `allow` matches. Deny wins. Default: none. */
  deny?: readonly string[]
  /** URL schemes allowed. Default `['https']`; add `'http'` to allow plain text. */
  schemes?: ReadonlyArray<'http' | 'https'>
  /** HTTP methods allowed (case-insensitive). Default GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS. */
  methods?: readonly string[]
  /**
   * IPs or CIDRs that may be connected to although they are private, loopback, link-local, etc.
   * Default: none. The host must ALSO be allowed by `allow`. Cloud metadata addresses open only
   * when listed exactly.
   */
  allowPrivateAddresses?: readonly string[]
  /** Redirects followed per call; one more is LIMIT_EXCEEDED. `0` refuses every redirect. Default 5. */
  maxRedirects?: number
  /** Largest request body in bytes. Default 1 MiB. */
  maxRequestBytes?: number
  /** Largest response body in bytes, counted after decompression. Default 10 MiB. */
  maxResponseBytes?: number
  /** Largest header block in bytes, for the request (with the URL) and for the response. Default 64 KiB. */
  maxHeaderBytes?: number
  /** Total deadline of one call in ms, from the call to the last body byte. Default 30 000. */
  timeoutMs?: number
  /** Requests one session may run at once. Default 8. */
  maxConcurrentPerSession?: number
  /** Requests one session may have waiting for a free slot; beyond that LIMIT_EXCEEDED. Default 64. */
  maxQueuedPerSession?: number
  /**
   * Headers the host adds to requests whose host matches `host` (a host rule). Python never sees
   * them; they are re-derived on every hop, so a redirect to another origin does not carry them.
   * They override headers of the same name set by Python.
   */
  injectHeaders?: ReadonlyArray<{ host: string; headers: Readonly<Record<string, string>> }>
  /**
   * An HTTP(S) proxy for every request, or none (the default). HTTP_PROXY/HTTPS_PROXY are ignored.
   * With a proxy the proxy resolves target names, so the connect-time address check applies to the
   * proxy's address only; the URL rules (hosts, IP literals) still apply to the target.
   */
  proxy?: string | { uri: string; token?: string }
  /** A `dns.lookup`-compatible resolver; `dns.lookup` by default. Every answer is checked. */
  lookup?: LookupFunction
  /**
   * Extra CA certificates (PEM) trusted for https, in addition to Node's bundled roots (a corporate
   * CA, or a test's self-signed certificate). Default: the bundled roots only.
   */
  ca?: string | readonly string[]
  /** `User-Agent` sent when the Python code sets none. Default `capsule-http/0.1`. */
  userAgent?: string
}

/** {@link HttpProviderOptions} after validation: defaults filled in, host rules parsed. */
export type ResolvedHttpProviderOptions = z.output<typeof httpProviderOptionsSchema>

/**
 * Validates options eagerly and fills defaults. Throws ProviderDefinitionError with the first
 * problem spelled out, e.g. `httpProvider: options.maxRedirects must be an integer ≥ 0 (got -1)`.
 */
export function resolveHttpProviderOptions(options: HttpProviderOptions): ResolvedHttpProviderOptions {
  // Header values and proxy tokens are secrets: never echo them, even into a host-side error.
  return parseProviderOptions('httpProvider', httpProviderOptionsSchema, options, {
    expected: 'must be an object with at least { allow: [...] }',
    secretKeys: ['injectHeaders', 'proxy'],
  })
}

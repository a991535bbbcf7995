import { rootCertificates } from 'node:tls'
import { defineCapability, defineProvider, type ProviderDefinition } from '@capsule/provider-sdk'
import { Agent, type Dispatcher, ProxyAgent } from 'undici'
import { createFetchHandler } from './fetchHandler.js'
import { fetchInputSchema, fetchOutputSchema } from './fetchSchemas.js'
import { createGuardedConnector } from './guardedConnector.js'
import {
  type HttpProviderOptions,
  httpProviderOptionsSchema,
  type ResolvedHttpProviderOptions,
  resolveHttpProviderOptions,
} from './httpProviderOptions.js'
import { RequestPolicy } from './requestPolicy.js'
import { SessionLimiter } from './sessionLimiter.js'

/** Version of this provider, reported in its definition. */
export const HTTP_PROVIDER_VERSION = '0.1.0'

/** The provider {@link httpProvider} returns: a ProviderDefinition whose `dispose()` closes its connections. */
export interface HttpProviderDefinition extends ProviderDefinition {
  /** Closes the provider's connection pool; later calls fail with UNAVAILABLE. Idempotent. */
  dispose(): Promise<void>
}

// The docstring Python sees. It must not mention hosts, headers or other configuration: the host's
// choices (and injected secrets) are not the untrusted code's business.
const DESCRIPTION =
  'Send an HTTP request and return an httpx-like Response (status_code, headers, text, json(), content). ' +
  'Only hosts the host application allows are reachable; redirects are followed.'

/**
 * Creates the `http` provider with one capability, `http.fetch` (Python `fetch`, level `standard`):
 * HTTP on undici through its own Agent (never the global dispatcher, never HTTP_PROXY), limited to
 * allowlisted hosts, guarded against SSRF at URL and connect time, with redirect, size, header,
 * time and concurrency caps. Options are validated eagerly; see {@link HttpProviderOptions}.
 */
export function httpProvider(options: HttpProviderOptions): HttpProviderDefinition {
  const resolved = resolveHttpProviderOptions(options)
  const policy = new RequestPolicy({
    allow: resolved.allow,
    deny: resolved.deny,
    schemes: resolved.schemes,
    methods: resolved.methods,
    addresses: resolved.allowPrivateAddresses,
  })
  const dispatcher = createDispatcher(resolved)
  let closed = false
  let closing: Promise<void> | undefined
  const handler = createFetchHandler({
    options: resolved,
    policy,
    dispatcher,
    limiter: new SessionLimiter(resolved.maxConcurrentPerSession, resolved.maxQueuedPerSession),
    isClosed: () => closed,
  })
  const fetch = defineCapability({
    name: 'fetch',
    python: 'fetch',
    level: 'standard',
    description: DESCRIPTION,
    input: fetchInputSchema,
    output: fetchOutputSchema,
    annotations: { openWorld: true },
    // `headers` carries credentials; hosts redact SENSITIVE_HEADERS by name instead of the whole argument.
    secretArgs: [],
    pythonResult: 'http_response',
    handler,
  })
  return defineProvider({
    name: 'http',
    version: HTTP_PROVIDER_VERSION,
    description: 'HTTP requests to allowlisted hosts, with an SSRF guard.',
    capabilities: [fetch],
    configSchema: httpProviderOptionsSchema,
    dispose() {
      closed = true
      closing ??= dispatcher.close()
      return closing
    },
  })
}

function createDispatcher(options: ResolvedHttpProviderOptions): Dispatcher {
  const common = {
    maxHeaderSize: options.maxHeaderBytes,
    // The handler's own deadline governs; these only stop undici's 300 s defaults from being looser.
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  }
  if (options.proxy !== undefined) {
    const proxy = typeof options.proxy === 'string' ? { uri: options.proxy } : options.proxy
    const ca = options.ca ? { ca: [...rootCertificates, ...options.ca] } : undefined
    return new ProxyAgent({ ...common, uri: proxy.uri, token: proxy.token, requestTls: ca, proxyTls: ca })
  }
  return new Agent({
    ...common,
    connect: createGuardedConnector({
      policy: options.allowPrivateAddresses,
      lookup: options.lookup,
      ca: options.ca,
      timeoutMs: Math.min(options.timeoutMs, 10_000),
    }),
  })
}

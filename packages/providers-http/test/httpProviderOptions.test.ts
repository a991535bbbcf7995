import { ProviderDefinitionError } from '@capsule/provider-sdk'
import { describe, expect, test } from 'vitest'
import { httpProvider } from '../src/httpProvider.js'
import {
  DEFAULT_MAX_CONCURRENT_PER_SESSION,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_REDIRECTS,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_TIMEOUT_MS,
  type HttpProviderOptions,
  resolveHttpProviderOptions,
} from '../src/httpProviderOptions.js'

function message(options: unknown): string {
  try {
    resolveHttpProviderOptions(options as HttpProviderOptions)
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderDefinitionError)
    return (error as Error).message
  }
  throw new Error('expected the options to be refused')
}

describe('httpProvider options', () => {
  test('fill safe defaults', () => {
    const resolved = resolveHttpProviderOptions({ allow: ['api.example.com'] })
    expect(resolved).toMatchObject({
      schemes: ['https'],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
      deny: [],
      maxRedirects: DEFAULT_MAX_REDIRECTS,
      maxRequestBytes: DEFAULT_MAX_REQUEST_BYTES,
      maxResponseBytes: DEFAULT_MAX_RESPONSE_BYTES,
      maxHeaderBytes: DEFAULT_MAX_HEADER_BYTES,
      timeoutMs: DEFAULT_TIMEOUT_MS,
      maxConcurrentPerSession: DEFAULT_MAX_CONCURRENT_PER_SESSION,
      injectHeaders: [],
    })
    expect(resolved.proxy).toBeUndefined()
    expect(resolved.allowPrivateAddresses.check('127.0.0.1')).toBe('loopback')
  })

  test('are refused eagerly with a precise message naming the option and the value', () => {
    expect(message({ allow: [] })).toBe(
      'httpProvider: options.allow must list at least one host rule (e.g. "api.example.com" or "*.example.org") (got [])',
    )
    expect(message({ allow: ['a.com'], maxRedirects: -1 })).toBe(
      'httpProvider: options.maxRedirects must be an integer ≥ 0 (got -1)',
    )
    expect(message({ allow: ['a.com'], timeoutMs: 1.5 })).toBe(
      'httpProvider: options.timeoutMs must be an integer ≥ 1 (got 1.5)',
    )
    expect(message({ allow: ['a.com', 'https://b.com'] })).toMatch(
      /^httpProvider: options\.allow\[1\] host rule "https:\/\/b\.com" must be a host/,
    )
    expect(message({ allow: ['a.com'], schemes: ['ftp'] })).toMatch(
      /options\.schemes\[0\] must be "http" or "https"/,
    )
    expect(message({ allow: ['a.com'], methods: ['TRACE'] })).toMatch(
      /options\.methods\[0\] must not include CONNECT, TRACE or TRACK/,
    )
    expect(message({ allow: ['a.com'], allowPrivateAddresses: ['localhost'] })).toMatch(
      /options\.allowPrivateAddresses entry "localhost" is not an IP address or CIDR/,
    )
    expect(message({ allow: ['a.com'], lookup: 'dns' })).toMatch(
      /options\.lookup must be a dns\.lookup-compatible function/,
    )
    expect(message({ allow: ['a.com'], allowList: [] })).toBe(
      'httpProvider: options has unknown option(s): allowList',
    )
    expect(message(null)).toMatch(/options must be an object/)
  })

  test('never echo injected header values or proxy credentials in an error', () => {
    const text = message({
      allow: ['a.com'],
      injectHeaders: [{ host: 'a.com', headers: { Authorization: 'Bearer s3cret\r\n' } }],
    })
    expect(text).toContain('options.injectHeaders[0].headers.Authorization')
    expect(text).not.toContain('s3cret')
    expect(message({ allow: ['a.com'], proxy: 'ftp://user:hunter2@proxy' })).not.toContain('hunter2')
  })

  test('httpProvider itself validates before building anything', () => {
    expect(() => httpProvider({ allow: ['a.com'], maxResponseBytes: -5 })).toThrow(ProviderDefinitionError)
  })
})

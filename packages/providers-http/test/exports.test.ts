import { expect, test } from 'vitest'
import packageJson from '../package.json' with { type: 'json' }
import { HTTP_PROVIDER_VERSION } from '../src/httpProvider.js'
import * as api from '../src/index.js'
import { SENSITIVE_HEADERS } from '../src/index.js'

test('the public surface of @capsule/providers-http is exactly this list', () => {
  expect(Object.keys(api).sort()).toEqual([
    'AddressPolicy',
    'DEFAULT_MAX_CONCURRENT_PER_SESSION',
    'DEFAULT_MAX_HEADER_BYTES',
    'DEFAULT_MAX_QUEUED_PER_SESSION',
    'DEFAULT_MAX_REDIRECTS',
    'DEFAULT_MAX_REQUEST_BYTES',
    'DEFAULT_MAX_RESPONSE_BYTES',
    'DEFAULT_METHODS',
    'DEFAULT_TIMEOUT_MS',
    'DEFAULT_USER_AGENT',
    'HTTP_PROVIDER_VERSION',
    'METADATA_ADDRESSES',
    'SENSITIVE_HEADERS',
    'fetchInputSchema',
    'fetchOutputSchema',
    'httpProvider',
    'httpProviderOptionsSchema',
    'parseHostRule',
  ])
})

test('SENSITIVE_HEADERS lists the credential headers in lower case, frozen', () => {
  expect(SENSITIVE_HEADERS).toEqual(['authorization', 'cookie', 'proxy-authorization'])
  expect(Object.isFrozen(SENSITIVE_HEADERS)).toBe(true)
})

test('the provider reports the package version', () => {
  expect(HTTP_PROVIDER_VERSION).toBe(packageJson.version)
})

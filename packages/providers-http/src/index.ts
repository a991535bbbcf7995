// Public API of @capsule/providers-http. Anything exported here is public: add intentionally.
export { AddressPolicy, METADATA_ADDRESSES } from './addressPolicy.js'
export type { FetchInput, FetchOutput } from './fetchSchemas.js'
export { fetchInputSchema, fetchOutputSchema } from './fetchSchemas.js'
export type { HostRule } from './hostRule.js'
export { parseHostRule } from './hostRule.js'
export type { HttpProviderDefinition } from './httpProvider.js'
export { HTTP_PROVIDER_VERSION, httpProvider } from './httpProvider.js'
export type { HttpProviderOptions } from './httpProviderOptions.js'
export {
  DEFAULT_MAX_CONCURRENT_PER_SESSION,
  DEFAULT_MAX_HEADER_BYTES,
  DEFAULT_MAX_QUEUED_PER_SESSION,
  DEFAULT_MAX_REDIRECTS,
  DEFAULT_MAX_REQUEST_BYTES,
  DEFAULT_MAX_RESPONSE_BYTES,
  DEFAULT_METHODS,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_USER_AGENT,
  httpProviderOptionsSchema,
} from './httpProviderOptions.js'
export { SENSITIVE_HEADERS } from './sensitiveHeaders.js'

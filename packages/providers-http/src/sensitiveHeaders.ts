/**
 * Request header names (lower case) that carry credentials. They are dropped when a redirect leaves
 * the origin, and a host's audit log should redact them: the `headers` argument of `http.fetch`
 * is secret-bearing, so hosts redact these names rather than the whole argument.
 */
export const SENSITIVE_HEADERS: readonly string[] = Object.freeze([
  'authorization',
  'cookie',
  'proxy-authorization',
])

/** Whether a header name (any case) is one of {@link SENSITIVE_HEADERS}. */
export function isSensitiveHeader(name: string): boolean {
  return SENSITIVE_HEADERS.includes(name.toLowerCase())
}

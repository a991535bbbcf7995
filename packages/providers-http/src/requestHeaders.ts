import { CapabilityError } from '@capsule/provider-sdk'

/**
 * Headers the HTTP client owns: framing, connection management and the target host. Letting Python
 * set them would allow request smuggling or virtual-host confusion, so they are refused.
 */
export const CLIENT_MANAGED_HEADERS: ReadonlySet<string> = new Set([
  'host',
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-connection',
])

/** Headers that describe a request body; dropped with the body when a redirect turns into GET. */
export const BODY_HEADERS: readonly string[] = [
  'content-type',
  'content-encoding',
  'content-language',
  'content-location',
]

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const VALUE = /^[^\r\n\0]*$/

/**
 * Turns the headers Python passed into a map of lower-case names to values, refusing malformed
 * names or values (INVALID_ARGUMENT) and client-managed headers.
 */
export function normalizeRequestHeaders(
  headers: Readonly<Record<string, string>> | null | undefined,
): Map<string, string> {
  const result = new Map<string, string>()
  if (headers === null || headers === undefined) return result
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name))
      throw new CapabilityError(
        'INVALID_ARGUMENT',
        `header name ${JSON.stringify(name)} is not a valid HTTP token`,
      )
    if (!VALUE.test(value))
      throw new CapabilityError('INVALID_ARGUMENT', `header ${name} has a value with CR, LF or NUL`)
    const lower = name.toLowerCase()
    if (CLIENT_MANAGED_HEADERS.has(lower)) {
      throw new CapabilityError(
        'INVALID_ARGUMENT',
        `header ${name} is managed by the HTTP client and cannot be set`,
      )
    }
    result.set(lower, value)
  }
  return result
}

/** Size of a request head as sent: request line plus `name: value\r\n` for each header. */
export function requestHeadBytes(
  method: string,
  path: string,
  headers: Readonly<Record<string, string>>,
): number {
  let total = Buffer.byteLength(`${method} ${path} HTTP/1.1\r\n`)
  for (const [name, value] of Object.entries(headers))
    total += Buffer.byteLength(name) + Buffer.byteLength(value) + 4
  return total
}

import dns from 'node:dns'
import type { LookupFunction } from 'node:net'
import { isIP, type Socket } from 'node:net'
import { rootCertificates } from 'node:tls'
import { buildConnector } from 'undici'
import type { AddressPolicy } from './addressPolicy.js'

/**
 * Raised at connect time when a host name resolves to (or a socket reaches) an address the
 * {@link AddressPolicy} forbids. The handler turns it into a `DENIED` CapabilityError; the address
 * stays on the host (audit) and is not shown to Python.
 */
export class ForbiddenAddressError extends Error {
  override readonly name = 'ForbiddenAddressError'
  readonly code = 'CAPSULE_FORBIDDEN_ADDRESS'
  /** The host name being connected to. */
  readonly hostname: string
  /** The forbidden address. */
  readonly address: string
  /** Its range (`loopback`, `private`, …). */
  readonly reason: string

  constructor(hostname: string, address: string, reason: string) {
    super(`${hostname} resolves to a forbidden address (${address}: ${reason})`)
    this.hostname = hostname
    this.address = address
    this.reason = reason
  }
}

/**
 * Wraps a `dns.lookup`-compatible resolver so that it asks for every address and fails when ANY
 * answer is forbidden. A name whose records mix public and private addresses is refused whole:
 * otherwise happy-eyeballs or a retry could land on the private one.
 */
export function createGuardedLookup(
  policy: AddressPolicy,
  lookup: LookupFunction = dns.lookup,
): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, { ...options, all: true }, (error, result, resultFamily) => {
      if (error) return callback(error, '', undefined)
      // Resolvers handed in by hosts may ignore `all`; accept both shapes.
      const addresses =
        typeof result === 'string'
          ? [{ address: result, family: resultFamily ?? isIP(result) }]
          : (result ?? [])
      if (addresses.length === 0) {
        const notFound = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
        return callback(notFound, '', undefined)
      }
      for (const { address } of addresses) {
        const reason = policy.check(address)
        if (reason !== null)
          return callback(new ForbiddenAddressError(hostname, address, reason), '', undefined)
      }
      if (options.all) return callback(null, addresses)
      const first = addresses[0]!
      return callback(null, first.address, first.family)
    })
  }
}

/** Options of {@link createGuardedConnector}. */
export interface GuardedConnectorOptions {
  policy: AddressPolicy
  /** The resolver to guard; `dns.lookup` when absent. */
  lookup?: LookupFunction | undefined
  /** Connect timeout (undici's default is 10 s; the request deadline still applies on top). */
  timeoutMs?: number | undefined
  /** Extra trusted CA certificates (PEM), added to Node's bundled roots. */
  ca?: readonly string[] | undefined
}

/**
 * An undici connector that enforces the address policy on every new connection: host names go
 * through the guarded lookup (all answers checked, re-resolved per connection, so DNS rebinding
 * meets the same check), IP literals are checked before dialling (Node skips `lookup` for them),
 * and the connected socket's peer address is checked once more before any byte is written.
 */
export function createGuardedConnector(options: GuardedConnectorOptions): buildConnector.connector {
  const { policy } = options
  const connect = buildConnector({
    lookup: createGuardedLookup(policy, options.lookup),
    timeout: options.timeoutMs,
    // Node's `ca` replaces the bundled roots; keep them and add the host's.
    ...(options.ca ? { ca: [...rootCertificates, ...options.ca] } : {}),
  })
  return (connectOptions, callback) => {
    const hostname = connectOptions.hostname
    const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
    if (isIP(bare) !== 0) {
      const reason = policy.check(bare)
      if (reason !== null) return callback(new ForbiddenAddressError(hostname, bare, reason), null)
    }
    return connect(connectOptions, (error, socket) => {
      if (error !== null) return callback(error, null)
      const remote = (socket as Socket).remoteAddress
      const reason = remote === undefined ? 'unknown peer' : policy.check(remote)
      if (reason !== null) {
        socket.destroy()
        return callback(new ForbiddenAddressError(hostname, remote ?? 'unknown', reason), null)
      }
      return callback(null, socket)
    })
  }
}

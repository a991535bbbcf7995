/**
 * A parsed allow/deny host rule.
 *
 * Syntax: `name`, `*.domain` (subdomains only, never the apex), an IPv4 literal or a bracketed
 * IPv6 literal, each optionally followed by `:port` or `:*` (any port). Without a port a rule
 * matches only the scheme's default port (443 for https, 80 for http), so a host that allows
 * `api.example.com` does not also open `api.example.com:22` to cross-protocol tricks.
 */
export interface HostRule {
  /** The rule as written, for messages. */
  readonly source: string
  /** Lower-case host as the WHATWG URL parser normalises it (IPv6 keeps its brackets). */
  readonly host: string
  /** True for `*.domain`: matches names strictly below `host`. */
  readonly wildcard: boolean
  /** A port number, `'*'` for any port, or `'default'` for the scheme's default port. */
  readonly port: number | '*' | 'default'
}

/** The default port of each scheme the provider speaks. */
export const DEFAULT_PORTS: Readonly<Record<string, number>> = { 'http:': 80, 'https:': 443 }

/**
 * Parses one host rule, normalising the host exactly as `new URL` would (IDN to punycode, odd IPv4
 * spellings to dotted decimal), so a rule and a request URL are compared in the same form.
 * Throws a TypeError with a precise message when the rule is malformed.
 */
export function parseHostRule(source: string): HostRule {
  if (typeof source !== 'string' || source.trim() !== source || source === '') {
    throw new TypeError(
      `host rule must be a non-empty string without surrounding spaces (got ${JSON.stringify(source)})`,
    )
  }
  if (/[/?#@\\\s]/.test(source)) {
    throw new TypeError(
      `host rule ${JSON.stringify(source)} must be a host with an optional :port, not a URL`,
    )
  }
  let rest = source
  let wildcard = false
  if (rest.startsWith('*.')) {
    wildcard = true
    rest = rest.slice(2)
  }
  // IPv6 literals need brackets so the port separator is unambiguous.
  const match = rest.startsWith('[')
    ? /^(\[[^\]]+\])(?::(\d+|\*))?$/.exec(rest)
    : /^([^:]+)(?::(\d+|\*))?$/.exec(rest)
  if (!match) {
    throw new TypeError(
      `host rule ${JSON.stringify(source)} must be host, host:port or host:* (IPv6 in brackets, e.g. [2001:db8::1]:443)`,
    )
  }
  rest = match[1] ?? ''
  let port: HostRule['port'] = 'default'
  if (match[2] === '*') port = '*'
  else if (match[2] !== undefined) {
    port = Number(match[2])
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new TypeError(`host rule ${JSON.stringify(source)}: port must be 1-65535 or *`)
    }
  }
  let host: string
  try {
    host = new URL(`http://${rest}/`).hostname
  } catch {
    throw new TypeError(`host rule ${JSON.stringify(source)} is not a valid host name or IP literal`)
  }
  if (host === '') throw new TypeError(`host rule ${JSON.stringify(source)} has an empty host`)
  host = stripTrailingDot(host)
  if (host.includes('*')) {
    throw new TypeError(
      `host rule ${JSON.stringify(source)}: '*' is only allowed as a leading '*.' label or as ':*'`,
    )
  }
  if (wildcard && (host.startsWith('[') || /^\d+\.\d+\.\d+\.\d+$/.test(host))) {
    throw new TypeError(`host rule ${JSON.stringify(source)}: a wildcard cannot apply to an IP literal`)
  }
  return { source, host, wildcard, port }
}

/**
 * Whether a rule matches a WHATWG-parsed URL's host and effective port. `hostname` must already be
 * normalised by `new URL` (and a trailing dot removed: `example.com.` is the same host).
 */
export function matchesHostRule(
  rule: HostRule,
  hostname: string,
  port: number,
  defaultPort: number,
): boolean {
  if (rule.port === 'default' ? port !== defaultPort : rule.port !== '*' && rule.port !== port) return false
  if (rule.wildcard) return hostname.endsWith(`.${rule.host}`)
  return hostname === rule.host
}

/** Removes one trailing dot: `example.com.` and `example.com` name the same host and must match alike. */
export function stripTrailingDot(hostname: string): string {
  return hostname.endsWith('.') ? hostname.slice(0, -1) : hostname
}

import { CapabilityError } from '@capsule/provider-sdk'
import type { AddressPolicy } from './addressPolicy.js'
import { DEFAULT_PORTS, type HostRule, matchesHostRule, stripTrailingDot } from './hostRule.js'

/** What {@link RequestPolicy} needs from the resolved options. */
export interface RequestPolicyOptions {
  allow: readonly HostRule[]
  deny: readonly HostRule[]
  schemes: readonly string[]
  methods: readonly string[]
  addresses: AddressPolicy
}

/**
 * The URL-level rules, applied to the first request and to every redirect hop. They judge the URL
 * exactly as the WHATWG parser (and so undici) sees it: scheme, userinfo, host rules, port, method,
 * and IP literals in every spelling (the parser has already turned `2130706433`, `0x7f.1`,
 * `0177.0.0.1` and `127.1` into `127.0.0.1`, and `[::ffff:127.0.0.1]` into `[::ffff:7f00:1]`).
 * Names are judged again at connect time by the guarded connector.
 */
export class RequestPolicy {
  readonly #options: RequestPolicyOptions

  constructor(options: RequestPolicyOptions) {
    this.#options = options
  }

  /** Parses the URL Python passed; INVALID_ARGUMENT when it is not an absolute URL. */
  parse(text: string, base?: URL): URL {
    try {
      return new URL(text, base)
    } catch {
      throw new CapabilityError(
        'INVALID_ARGUMENT',
        base ? 'redirect to an invalid URL' : 'url is not a valid absolute URL',
      )
    }
  }

  /**
   * Throws DENIED unless the request may be sent. Each denial names the provider option and the
   * value that would allow it (`details.option`, `details.value`), never a secret.
   */
  check(url: URL, method: string): void {
    const scheme = url.protocol.slice(0, -1)
    if (!this.#options.schemes.includes(scheme)) {
      throw denied(
        `scheme ${JSON.stringify(scheme)} is not allowed (allowed: ${this.#options.schemes.join(', ')}); ` +
          `add ${JSON.stringify(scheme)} to the http provider's \`schemes\` option to allow it`,
        { rule: 'scheme', option: 'schemes', value: scheme },
      )
    }
    if (url.username !== '' || url.password !== '') {
      throw denied(
        'URLs with credentials (user:password@) are not allowed; send an Authorization header instead, ' +
          "or let the host add it with the http provider's `injectHeaders` option",
        { rule: 'credentials', option: 'injectHeaders' },
      )
    }
    if (!this.#options.methods.includes(method)) {
      throw denied(
        `method ${method} is not allowed (allowed: ${this.#options.methods.join(', ')}); ` +
          `add ${JSON.stringify(method)} to the http provider's \`methods\` option to allow it`,
        { rule: 'method', option: 'methods', value: method },
      )
    }
    const hostname = stripTrailingDot(url.hostname)
    const defaultPort = DEFAULT_PORTS[url.protocol] ?? 0
    const port = url.port === '' ? defaultPort : Number(url.port)
    const shown = url.port === '' ? hostname : `${hostname}:${port}`
    const denyRule = this.#options.deny.find((rule) => matchesHostRule(rule, hostname, port, defaultPort))
    if (denyRule) {
      throw denied(
        `host ${shown} is denied by the http provider's \`deny\` rule ${JSON.stringify(denyRule.source)} ` +
          '(deny wins over allow)',
        { rule: 'deny', option: 'deny', value: denyRule.source },
      )
    }
    if (!this.#options.allow.some((rule) => matchesHostRule(rule, hostname, port, defaultPort))) {
      throw denied(this.#notAllowedMessage(hostname, port, defaultPort, shown), {
        rule: 'allow',
        option: 'allow',
        value: port === defaultPort ? hostname : `${hostname}:${port}`,
      })
    }
    const literal = hostname.startsWith('[') || /^\d+\.\d+\.\d+\.\d+$/.test(hostname)
    if (literal) {
      const reason = this.#options.addresses.check(hostname)
      if (reason !== null) {
        const address = hostname.replace(/^\[|\]$/g, '')
        throw denied(
          `address ${hostname} is not a public address (${reason}); list ${JSON.stringify(address)} in the ` +
            "http provider's `allowPrivateAddresses` option to allow it",
          { rule: 'address', option: 'allowPrivateAddresses', value: address },
        )
      }
    }
  }

  /** Names the allow rule that would match: with its port when only the port was missing. */
  #notAllowedMessage(hostname: string, port: number, defaultPort: number, shown: string): string {
    const otherPort = this.#options.allow.some((rule) =>
      matchesHostRule({ ...rule, port: '*' }, hostname, port, defaultPort),
    )
    const rule = port === defaultPort ? hostname : `${hostname}:${port}`
    if (otherPort) {
      return (
        `host ${shown} is allowed only on other ports; add ${JSON.stringify(rule)} (or ` +
        `${JSON.stringify(`${hostname}:*`)} for any port) to the http provider's \`allow\` option`
      )
    }
    return `host ${shown} is not in the allowlist; add ${JSON.stringify(rule)} to the http provider's \`allow\` option`
  }

  /** Whether a URL's host and port match `rule` (used to pick injected headers). */
  static matches(rule: HostRule, url: URL): boolean {
    const defaultPort = DEFAULT_PORTS[url.protocol] ?? 0
    const port = url.port === '' ? defaultPort : Number(url.port)
    return matchesHostRule(rule, stripTrailingDot(url.hostname), port, defaultPort)
  }
}

function denied(message: string, details: Record<string, string>): CapabilityError {
  return new CapabilityError('DENIED', message, { details })
}

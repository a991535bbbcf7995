import ipaddr from 'ipaddr.js'

type Address = ipaddr.IPv4 | ipaddr.IPv6

/**
 * Cloud metadata endpoints. Their ranges (link-local, unique-local, CGNAT, IETF) are forbidden
 * anyway; they are listed so that allowing a whole private range still does not open them: only
 * naming the exact address in `allowPrivateAddresses` does.
 */
export const METADATA_ADDRESSES: readonly string[] = [
  '169.254.169.254', // AWS, GCP, Azure, OpenStack, DigitalOcean
  '169.254.170.2', // AWS ECS task metadata
  'fd00:ec2::254', // AWS IMDS over IPv6
  '100.100.100.200', // Alibaba Cloud
  '192.0.0.192', // Oracle Cloud
]

// Public IPv6 unicast lives in 2000::/3; anything outside it (IPv4-compatible ::/96, ::/8, 100::/8,
// the deprecated site-local range, …) is not a destination on the internet.
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3')
const NAT64_LOCAL_USE = ipaddr.parseCIDR('64:ff9b:1::/48')

/** Verdicts {@link AddressPolicy.check} remembers before it starts over (bounds the memory it holds). */
const MAX_REMEMBERED_VERDICTS = 1024

/**
 * Decides whether an IP address may be connected to: public unicast only, unless the host listed
 * the address (or a CIDR holding it) in `allowPrivateAddresses`. IPv6 forms that carry an IPv4
 * address (IPv4-mapped, IPv4-translated, NAT64, 6to4, Teredo) are judged by the IPv4 inside.
 */
export class AddressPolicy {
  readonly #allowed: ReadonlyArray<[Address, number]>
  readonly #exact: ReadonlySet<string>
  readonly #verdicts = new Map<string, string | null>()

  /** `allowPrivateAddresses`: IPs or CIDRs; throws a TypeError naming the first malformed entry. */
  constructor(allowPrivateAddresses: readonly string[] = []) {
    const allowed: Array<[Address, number]> = []
    const exact = new Set<string>()
    for (const entry of allowPrivateAddresses) {
      const range = parseAddressOrCidr(entry)
      allowed.push(range)
      if (range[1] === (range[0].kind() === 'ipv4' ? 32 : 128)) exact.add(range[0].toNormalizedString())
    }
    this.#allowed = allowed
    this.#exact = exact
  }

  /**
   * Why `address` is forbidden (`'loopback'`, `'private'`, `'metadata'`, …), or null when it may be
   * used. An unparsable address is forbidden: fail closed.
   */
  check(address: string): string | null {
    // The verdict depends on the text and this policy only; a host fetched again and again (or an
    // address DNS keeps returning) is parsed and classified once.
    const known = this.#verdicts.get(address)
    if (known !== undefined) return known
    const verdict = this.#judge(address)
    if (this.#verdicts.size >= MAX_REMEMBERED_VERDICTS) this.#verdicts.clear()
    this.#verdicts.set(address, verdict)
    return verdict
  }

  #judge(address: string): string | null {
    const parsed = parseAddress(address)
    if (parsed === null) return 'invalid'
    const candidates = [parsed]
    const embedded = embeddedIPv4(parsed)
    if (embedded) candidates.push(embedded)
    for (const candidate of candidates) {
      if (METADATA_SET.has(candidate.toNormalizedString())) {
        return this.#exact.has(candidate.toNormalizedString()) ? null : 'metadata'
      }
    }
    const reason = classify(parsed)
    if (reason === null) return null
    for (const candidate of candidates) {
      for (const [network, bits] of this.#allowed) {
        if (candidate.kind() === network.kind() && candidate.match(network, bits)) return null
      }
    }
    return reason
  }
}

const METADATA_SET = new Set(METADATA_ADDRESSES.map((a) => ipaddr.parse(a).toNormalizedString()))

/**
 * Why an address is not public (its special range name), or null for public unicast. IPv6 forms
 * that embed an IPv4 address are public only when the embedded address is.
 */
export function classify(address: Address): string | null {
  if (address.kind() === 'ipv4') {
    const range = address.range()
    return range === 'unicast' ? null : range
  }
  const v6 = address as ipaddr.IPv6
  const embedded = embeddedIPv4(v6)
  if (embedded) {
    const inner = classify(embedded)
    return inner === null ? null : `${v6.range()}(${inner})`
  }
  if (v6.match(NAT64_LOCAL_USE)) return 'rfc6052'
  const range = v6.range()
  if (range !== 'unicast') return range
  return v6.match(GLOBAL_UNICAST_V6) ? null : 'reserved'
}

/** The IPv4 address an IPv6 address carries (mapped, translated, NAT64, 6to4, Teredo client), if any. */
export function embeddedIPv4(address: Address): ipaddr.IPv4 | null {
  if (address.kind() !== 'ipv6') return null
  const v6 = address as ipaddr.IPv6
  const p = v6.parts as number[]
  const fromWords = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff])
  switch (v6.range()) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d
    case 'rfc6145': // ::ffff:0:a.b.c.d
      return fromWords(p[6] ?? 0, p[7] ?? 0)
    case 'rfc6052': // 64:ff9b::a.b.c.d (well-known NAT64 prefix; the local-use /48 is refused outright)
      return v6.match(NAT64_LOCAL_USE) ? null : fromWords(p[6] ?? 0, p[7] ?? 0)
    case '6to4': // 2002:AABB:CCDD::/48
      return fromWords(p[1] ?? 0, p[2] ?? 0)
    case 'teredo': // 2001:0::/32, client address stored bit-inverted in the last 32 bits
      return fromWords(~(p[6] ?? 0) & 0xffff, ~(p[7] ?? 0) & 0xffff)
    default:
      return null
  }
}

/** Parses an IP address as it comes from DNS, a socket or a normalised URL host (brackets allowed). */
export function parseAddress(text: string): Address | null {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text
  // Only canonical dotted-quad IPv4: ipaddr.js would also read `0x7f.1` and `2130706433`, which the
  // URL parser has already normalised and which DNS never returns.
  if (ipaddr.IPv4.isValidFourPartDecimal(bare)) return ipaddr.IPv4.parse(bare)
  if (ipaddr.IPv6.isValid(bare)) return ipaddr.IPv6.parse(bare)
  return null
}

function parseAddressOrCidr(entry: string): [Address, number] {
  if (typeof entry === 'string') {
    if (entry.includes('/')) {
      try {
        return ipaddr.parseCIDR(entry)
      } catch {
        // fall through to the error below
      }
    } else {
      const address = parseAddress(entry)
      if (address) return [address, address.kind() === 'ipv4' ? 32 : 128]
    }
  }
  throw new TypeError(`${JSON.stringify(entry)} is not an IP address or CIDR (e.g. 127.0.0.1 or 10.0.0.0/8)`)
}

import { compareLevels, isSecurityLevel, type SecurityLevel } from '@capsule/provider-sdk'
import type { CapabilityRegistry, RegisteredCapability } from '../capabilities/capabilityRegistry.js'
import { CapsuleError } from '../errors.js'

/** Grants as a host states them: a level plus capability ids or patterns to add and remove. */
export interface GrantOptions {
  level: SecurityLevel
  /** Ids (`fs.write_file`) or patterns (`fs.*`, `*`) granted beyond the level. */
  allow?: readonly string[]
  /** Ids or patterns removed whatever else grants them; deny always wins. */
  deny?: readonly string[]
}

/**
 * The outcome of a policy check and the rule that decided it (for the audit log). Discriminated on
 * `allowed`: a grant carries the capability it found, so a call looks its capability up once.
 */
export type PolicyDecision = PolicyGrant | PolicyDenial

/** A capability the policy grants, with the rule that grants it (`level:standard`, `allow:fs.write_file`). */
export interface PolicyGrant {
  allowed: true
  rule: `level:${SecurityLevel}` | `allow:${string}`
  capability: RegisteredCapability
}

/**
 * A refusal and its rule: `deny:fs.*`, `not-granted:restricted` (with the capability refused, whose secret
 * arguments the audit still redacts), or `unknown` (no provider registers the id).
 */
export type PolicyDenial =
  | {
      allowed: false
      rule: `deny:${string}` | `not-granted:${SecurityLevel}`
      capability: RegisteredCapability
    }
  | { allowed: false; rule: 'unknown'; capability?: undefined }

const PATTERN = /^(\*|[a-z_][a-z0-9_]*\.(\*|[a-z_][a-z0-9_]*))$/

function matches(pattern: string, id: string): boolean {
  if (pattern === '*') return true
  if (pattern.endsWith('.*')) return id.startsWith(pattern.slice(0, -1))
  return pattern === id
}

function validatePatterns(field: string, patterns: readonly string[] | undefined): readonly string[] {
  if (patterns === undefined) return []
  if (!Array.isArray(patterns))
    throw new CapsuleError('INVALID_OPTIONS', `${field} must be an array of capability ids or patterns`)
  for (const pattern of patterns) {
    if (typeof pattern !== 'string' || !PATTERN.test(pattern)) {
      throw new CapsuleError(
        'INVALID_OPTIONS',
        `${field} entries must be capability ids like "fs.read_file" or patterns like "fs.*" or "*" (got ${JSON.stringify(pattern)})`,
      )
    }
  }
  return patterns
}

/**
 * Decides whether a capability may be called: deny wins, then the level, then allow. A policy can be
 * narrowed for a session but never widened beyond its parent's grants.
 */
export class SecurityPolicy {
  readonly level: SecurityLevel
  readonly allow: readonly string[]
  readonly deny: readonly string[]
  readonly #registry: CapabilityRegistry
  readonly #parent: SecurityPolicy | undefined
  readonly #decisions = new Map<string, PolicyDecision>()

  private constructor(registry: CapabilityRegistry, options: GrantOptions, parent?: SecurityPolicy) {
    this.#registry = registry
    this.#parent = parent
    this.level = options.level
    this.allow = validatePatterns('allow', options.allow)
    this.deny = validatePatterns('deny', options.deny)
  }

  /** A top-level policy (the Capsule's). Unknown exact ids in `allow` are rejected as likely typos. */
  static create(registry: CapabilityRegistry, options: GrantOptions): SecurityPolicy {
    if (!isSecurityLevel(options.level)) {
      throw new CapsuleError(
        'INVALID_OPTIONS',
        `level must be one of sandbox, restricted, standard, trusted, unrestricted (got ${JSON.stringify(options.level)})`,
      )
    }
    const policy = new SecurityPolicy(registry, options)
    for (const id of policy.allow) {
      if (!id.includes('*') && !registry.get(id)) {
        throw new CapsuleError(
          'INVALID_OPTIONS',
          `allow names ${JSON.stringify(id)}, which no provider registers`,
        )
      }
    }
    return policy
  }

  /**
   * A policy for one session that grants at most what this one grants. Asking for a higher level, or
   * allowing an id this policy does not grant, is an INVALID_OPTIONS error.
   */
  narrow(options: Partial<GrantOptions>): SecurityPolicy {
    const level = options.level ?? this.level
    if (!isSecurityLevel(level)) {
      throw new CapsuleError(
        'INVALID_OPTIONS',
        `level must be one of sandbox, restricted, standard, trusted, unrestricted (got ${JSON.stringify(level)})`,
      )
    }
    if (compareLevels(level, this.level) > 0) {
      throw new CapsuleError(
        'INVALID_OPTIONS',
        `a session cannot widen the Capsule's level ${this.level} to ${level}`,
      )
    }
    // A session that names no `allow` keeps the Capsule's; the Capsule's deny applies through the parent.
    const narrowed = new SecurityPolicy(
      this.#registry,
      { level, allow: options.allow ?? this.allow, deny: options.deny },
      this,
    )
    // Only what the session asks for itself is checked: the inherited allow may name ids a deny removes.
    for (const id of validatePatterns('allow', options.allow)) {
      if (!id.includes('*') && !this.decide(id).allowed) {
        throw new CapsuleError(
          'INVALID_OPTIONS',
          `a session cannot allow ${id}: the Capsule does not grant it`,
        )
      }
    }
    return narrowed
  }

  /**
   * Decides one call. Runs on every call frame, whatever was injected. A policy never changes, so
   * each id is decided once and remembered (ids come from the registry; unknown ones are not kept).
   */
  decide(capabilityId: string): PolicyDecision {
    const known = this.#decisions.get(capabilityId)
    if (known) return known
    const decision = this.#decide(capabilityId)
    if (decision.rule !== 'unknown') this.#decisions.set(capabilityId, decision)
    return decision
  }

  #decide(capabilityId: string): PolicyDecision {
    const capability = this.#registry.get(capabilityId)
    if (!capability) return { allowed: false, rule: 'unknown' }
    if (this.#parent) {
      const inherited = this.#parent.decide(capabilityId)
      if (!inherited.allowed) return inherited
    }
    const denied = this.deny.find((pattern) => matches(pattern, capabilityId))
    if (denied) return { allowed: false, rule: `deny:${denied}`, capability }
    if (compareLevels(capability.level, this.level) <= 0)
      return { allowed: true, rule: `level:${this.level}`, capability }
    const allowed = this.allow.find((pattern) => matches(pattern, capabilityId))
    if (allowed) return { allowed: true, rule: `allow:${allowed}`, capability }
    return { allowed: false, rule: `not-granted:${this.level}`, capability }
  }

  /** Every capability this policy grants, in registration order: what gets injected. */
  granted(): RegisteredCapability[] {
    return this.#registry.list().filter((capability) => this.decide(capability.id).allowed)
  }
}

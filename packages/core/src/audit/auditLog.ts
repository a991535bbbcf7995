import type { PromiseState } from '../promises/promiseStore.js'

/**
 * One audit record. A call yields a `decision` entry before any work and an `outcome` entry after. A call
 * the policy granted but a provider's own rule refused (its handler threw a CapabilityError `DENIED`) gets a
 * second decision, `denied` with `rule: 'provider:…'`, just before its outcome: a call's decision is its
 * last `decision` entry, and filtering on `decision === 'denied'` finds every refused call once.
 */
export interface AuditEntry {
  /** ISO time. */
  time: string
  type: 'decision' | 'outcome'
  sessionId: string
  executionId: string | null
  callId: string
  capability: string
  /** For decisions. */
  decision?: 'allowed' | 'denied'
  /**
   * The rule that decided: the policy's (`level:standard`, `deny:fs.*`, `not-granted:restricted`, …), or a
   * provider's (`provider:allow`, from the CapabilityError's `details.rule`; `provider` when it names none).
   */
  rule?: string
  /** For a provider's denial: the option that would allow the call (`details.option`), when it names one. */
  option?: string
  /** Arguments with secrets redacted and large values summarised. */
  args?: unknown
  /** For outcomes. */
  state?: Exclude<PromiseState, 'pending'>
  durationMs?: number
  bytesIn?: number
  bytesOut?: number
  errorCode?: string
  /**
   * Host-side detail of an INTERNAL failure, never sent to Python: `Name: message` of what the handler
   * threw, redacted like the arguments (secret argument values, URL secrets and token-like runs replaced).
   */
  errorDetail?: string
}

/** Where audit entries go. A sink that throws refuses the call it was recording (fail closed). */
export interface AuditSink {
  write(entry: AuditEntry): void
}

/** Header and argument names whose values are always redacted. */
export const SENSITIVE_KEYS = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-api-key',
  'x-auth-token',
  'x-access-token',
  'x-amz-security-token',
  'x-goog-api-key',
  'private-token',
  'api_key',
  'apikey',
  'password',
  'token',
  'access_token',
  'refresh_token',
  'client_secret',
  'secret',
])

const MAX_AUDIT_STRING = 256
const MAX_AUDIT_ITEMS = 50
const MAX_AUDIT_KEYS = 50
const MAX_AUDIT_DEPTH = 8
/** Values in one redacted copy, all levels together. */
const MAX_AUDIT_VALUES = 200
const NO_KEYS: ReadonlySet<string> = new Set()

/**
 * Copies `value` for the audit log: secrets replaced by `[redacted]` (sensitive keys, and secrets inside
 * URLs: query and fragment parameters such as `token=` or `sig=`, and userinfo), bytes and long strings
 * summarised. The copy is bounded (string length, items and keys per level, depth, and 200 values in
 * all), and so is the work beyond listing a map's keys: what is not kept is not walked.
 */
export function redactForAudit(
  value: unknown,
  secretKeys: ReadonlySet<string> = NO_KEYS,
  depth = 0,
): unknown {
  return redactValue(value, secretKeys, depth, { left: MAX_AUDIT_VALUES })
}

function redactValue(
  value: unknown,
  secretKeys: ReadonlySet<string>,
  depth: number,
  budget: { left: number },
): unknown {
  budget.left -= 1
  if (depth > MAX_AUDIT_DEPTH) return '[…]'
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`
  if (typeof value === 'string') {
    // Cut first, then redact: the cost follows what is kept, and a parameter cut in half is still redacted.
    if (value.length <= MAX_AUDIT_STRING) return redactUrlSecrets(value)
    return `${redactUrlSecrets(value.slice(0, MAX_AUDIT_STRING))}…(${value.length} chars)`
  }
  if (Array.isArray(value)) {
    const out: unknown[] = []
    const count = Math.min(value.length, MAX_AUDIT_ITEMS)
    for (let index = 0; index < count && budget.left > 0; index += 1)
      out.push(redactValue(value[index], NO_KEYS, depth + 1, budget))
    return out
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {}
    const keys = Object.keys(value)
    const count = Math.min(keys.length, MAX_AUDIT_KEYS)
    let kept = 0
    for (; kept < count && budget.left > 0; kept += 1) {
      const key = keys[kept]!
      out[key] =
        secretKeys.has(key) || SENSITIVE_KEYS.has(key.toLowerCase())
          ? '[redacted]'
          : redactValue((value as Record<string, unknown>)[key], NO_KEYS, depth + 1, budget)
    }
    if (keys.length > kept) out['…'] = `${keys.length - kept} more keys`
    return out
  }
  return value
}

// Words that make a URL parameter a secret, matched against the parameter name split at separators and
// case changes (`X-Amz-Signature`, `accessToken`, `api_key`); the fragments below match anywhere in it.
const SECRET_PARAM_WORDS = new Set([
  'token',
  'key',
  'apikey',
  'sig',
  'signature',
  'password',
  'passwd',
  'pwd',
  'pass',
  'secret',
  'auth',
  'authorization',
  'credential',
  'credentials',
  'session',
  'sessionid',
  'sid',
  'jwt',
  'otp',
])
const SECRET_PARAM_FRAGMENTS = ['token', 'secret', 'passw', 'apikey', 'signature', 'credential']

/** Whether a URL query or fragment parameter of this name holds a secret (case-insensitive). */
export function isSecretParameterName(name: string): boolean {
  let decoded = name
  try {
    decoded = decodeURIComponent(name.replace(/\+/g, ' '))
  } catch {
    // A malformed escape: judge the raw name.
  }
  const lower = decoded.toLowerCase()
  if (SECRET_PARAM_FRAGMENTS.some((fragment) => lower.includes(fragment))) return true
  const words = decoded
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
  return words.some((word) => SECRET_PARAM_WORDS.has(word))
}

// `?a=1&token=x#frag;sig=y`, or a bare `token=x&b=2` (a form body): separator, name, value.
const PARAMETER = /(^|[?&#;])([^=&#;?\s]+)=([^&#;\s]*)/g
// `scheme://user:password@` or `scheme://token@`.
const USERINFO = /(\b[a-z][a-z0-9+.-]*:\/\/)([^/?#@\s]*)@/gi

/** `text` with the values of secret URL parameters and URL userinfo replaced by `[redacted]`. */
export function redactUrlSecrets(text: string): string {
  let out = text
  if (out.includes('@')) {
    out = out.replace(USERINFO, (_, scheme: string, userinfo: string) => {
      const colon = userinfo.indexOf(':')
      return colon >= 0 ? `${scheme}${userinfo.slice(0, colon)}:[redacted]@` : `${scheme}[redacted]@`
    })
  }
  if (out.includes('=')) {
    out = out.replace(PARAMETER, (match, separator: string, name: string, value: string) =>
      value.length > 0 && isSecretParameterName(name) ? `${separator}${name}=[redacted]` : match,
    )
  }
  return out
}

/** Roughly how many bytes a value carries (strings as UTF-16 length, bytes exactly). */
export function approximateSize(value: unknown, depth = 0): number {
  if (value === null || value === undefined) return 0
  if (typeof value === 'string') return value.length
  if (value instanceof Uint8Array) return value.byteLength
  if (typeof value !== 'object') return 8
  if (depth > 16) return 0
  let total = 0
  if (Array.isArray(value)) for (const item of value) total += approximateSize(item, depth + 1)
  else for (const [key, item] of Object.entries(value)) total += key.length + approximateSize(item, depth + 1)
  return total
}

/**
 * Fans entries out to the sinks. `record` throws when a sink throws, so the caller can refuse the
 * call instead of letting it through unaudited.
 */
export class AuditLog {
  readonly #sinks: AuditSink[]

  constructor(sinks: AuditSink[]) {
    this.#sinks = sinks
  }

  /** Whether any sink listens (entries are not even built otherwise). */
  get enabled(): boolean {
    return this.#sinks.length > 0
  }

  record(entry: AuditEntry): void {
    for (const sink of this.#sinks) sink.write(entry)
  }
}

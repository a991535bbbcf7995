import type { PromiseState } from '../promises/promiseStore.js'

/** One audit record. A call yields a `decision` entry before any work and an `outcome` entry after. */
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
  /** The policy rule that decided (`level:standard`, `deny:fs.*`, …) or why it was refused. */
  rule?: string
  /** Arguments with secrets redacted and large values summarised. */
  args?: unknown
  /** For outcomes. */
  state?: Exclude<PromiseState, 'pending'>
  durationMs?: number
  bytesIn?: number
  bytesOut?: number
  errorCode?: string
  /** Host-side detail of an INTERNAL failure; never sent to Python. */
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
  'api_key',
  'apikey',
  'password',
  'token',
  'secret',
])

const MAX_AUDIT_STRING = 256

/** Copies `value` for the audit log: secrets replaced by `[redacted]`, bytes and long strings summarised. */
export function redactForAudit(
  value: unknown,
  secretKeys: ReadonlySet<string> = new Set(),
  depth = 0,
): unknown {
  if (depth > 8) return '[…]'
  if (value instanceof Uint8Array) return `<${value.byteLength} bytes>`
  if (typeof value === 'string')
    return value.length > MAX_AUDIT_STRING
      ? `${value.slice(0, MAX_AUDIT_STRING)}…(${value.length} chars)`
      : value
  if (Array.isArray(value))
    return value.slice(0, 50).map((item) => redactForAudit(item, new Set(), depth + 1))
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      const lower = key.toLowerCase()
      out[key] =
        secretKeys.has(key) || SENSITIVE_KEYS.has(lower)
          ? '[redacted]'
          : redactForAudit(item, new Set(), depth + 1)
    }
    return out
  }
  return value
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

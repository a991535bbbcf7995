import { createHash } from 'node:crypto'
import { CapsuleError } from '../errors.js'
import { toTaggedJson } from './taggedJson.js'

/**
 * The canonical JSON text of a value as a msgpack frame decodes it: map keys sorted by UTF-16 code units,
 * Map entries sorted, numbers as ECMAScript prints them, and tags for what JSON lacks — `{"$bytes": base64}`
 * (Uint8Array, Buffer, ArrayBuffer), `{"$bigint": "…"}`, `{"$num": "NaN" | "Infinity" | "-Infinity" | "-0"}`,
 * `{"$map": [[k, v], …]}`, `{"$date": iso}`, `{"$undefined": true}`; a key starting with `$` gets one more
 * `$`. Two values have the same text exactly when they are the same data: `-0` differs from `0`, a Map from
 * a plain object, bytes from an array of numbers. INVALID_ARGUMENT for functions, symbols, class
 * instances and cycles.
 */
export function canonicalJson(value: unknown): string {
  return toTaggedJson(value, { sortKeys: true })
}

/** sha256 (lowercase hex) of the UTF-8 {@link canonicalJson} of a value: the argument hash of a call key. */
export function canonicalHash(value: unknown): string {
  return sha256Hex(canonicalJson(value))
}

/** sha256 (lowercase hex) of a cell's UTF-8 source: an execution's `codeHash`. */
export function hashCode(code: string): string {
  return sha256Hex(code)
}

/**
 * The content-addressed key of a durable capability call: `<capability>/<argsHash>/<ordinal>`, where the
 * ordinal counts earlier calls with the same capability and arguments in the same execution (0 first), so
 * concurrent identical calls replay in any order.
 */
export function callKey(capability: string, argsHash: string, ordinal: number): string {
  if (typeof capability !== 'string' || capability === '' || capability.includes('/')) {
    throw new CapsuleError('INVALID_ARGUMENT', 'a call key needs a capability id without "/"')
  }
  if (!/^[0-9a-f]{64}$/.test(argsHash)) {
    throw new CapsuleError('INVALID_ARGUMENT', 'a call key needs a sha256 hex argument hash')
  }
  if (!Number.isSafeInteger(ordinal) || ordinal < 0) {
    throw new CapsuleError('INVALID_ARGUMENT', `a call ordinal must be an integer ≥ 0 (got ${ordinal})`)
  }
  return `${capability}/${argsHash}/${ordinal}`
}

/**
 * Hands out the ordinals of one execution's calls: the nth call with the same capability and argument
 * hash gets n - 1. One per execution (a replay starts a fresh one).
 */
export class CallOrdinals {
  readonly #counts = new Map<string, number>()

  /** The ordinal of the next call with this capability and argument hash. */
  next(capability: string, argsHash: string): number {
    const id = `${capability}/${argsHash}`
    const ordinal = this.#counts.get(id) ?? 0
    this.#counts.set(id, ordinal + 1)
    return ordinal
  }
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex')
}

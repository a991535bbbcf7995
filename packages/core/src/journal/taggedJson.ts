import { CapsuleError } from '../errors.js'

// The JSON form of the values a journal stores and hashes. JSON alone loses bytes, Map, bigint, -0, NaN
// and ±Infinity, so those become one-key tag objects; a map key that starts with `$` gets one more `$`, so
// no user map can read as a tag and the form stays injective (two different values never share a text).
const TAG_PREFIX = '$'
const TAGS = ['$bytes', '$bigint', '$num', '$map', '$date', '$undefined'] as const
type Tag = (typeof TAGS)[number]
const TAG_SET: ReadonlySet<string> = new Set(TAGS)

/** How deep a value may nest before encoding refuses it (msgpack frames are far shallower). */
export const MAX_TAGGED_DEPTH = 1000

/**
 * Encodes a value as tagged JSON text. With `sortKeys`, map keys (and Map entries) are sorted by UTF-16 code
 * units, which makes the text canonical; without, the object's own key order is kept, so a dict read back
 * iterates as it was written. Throws INVALID_ARGUMENT for what a msgpack frame cannot hold (functions,
 * symbols, class instances, cycles, nesting deeper than {@link MAX_TAGGED_DEPTH}).
 */
export function toTaggedJson(value: unknown, options: { sortKeys: boolean }): string {
  return emit(value, options.sortKeys, 0, new Set())
}

/** Decodes {@link toTaggedJson}'s text. Text that is not tagged JSON is JOURNAL_CORRUPT. */
export function fromTaggedJson(text: string): unknown {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (cause) {
    throw new CapsuleError('JOURNAL_CORRUPT', 'a stored value is not valid JSON', { cause })
  }
  return untag(parsed)
}

// The text is written directly rather than built as an object for JSON.stringify: an object would put
// integer-like keys first whatever order they were sorted in.
function emit(value: unknown, sortKeys: boolean, depth: number, seen: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'number':
      if (Number.isNaN(value)) return '{"$num":"NaN"}'
      if (value === Number.POSITIVE_INFINITY) return '{"$num":"Infinity"}'
      if (value === Number.NEGATIVE_INFINITY) return '{"$num":"-Infinity"}'
      if (Object.is(value, -0)) return '{"$num":"-0"}'
      return String(value)
    case 'bigint':
      return `{"$bigint":"${value.toString()}"}`
    case 'undefined':
      return '{"$undefined":true}'
    case 'object':
      if (value === null) return 'null'
      return emitObject(value, sortKeys, depth, seen)
    default:
      throw new CapsuleError('INVALID_ARGUMENT', `a journaled value cannot hold a ${typeof value}`)
  }
}

function emitObject(value: object, sortKeys: boolean, depth: number, seen: Set<object>): string {
  if (depth >= MAX_TAGGED_DEPTH) {
    throw new CapsuleError('INVALID_ARGUMENT', `a journaled value nests deeper than ${MAX_TAGGED_DEPTH}`)
  }
  if (value instanceof Uint8Array) {
    return `{"$bytes":"${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')}"}`
  }
  if (value instanceof ArrayBuffer) return `{"$bytes":"${Buffer.from(value).toString('base64')}"}`
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime()))
      throw new CapsuleError('INVALID_ARGUMENT', 'a journaled Date is invalid')
    return `{"$date":"${value.toISOString()}"}`
  }
  if (seen.has(value)) throw new CapsuleError('INVALID_ARGUMENT', 'a journaled value contains a cycle')
  seen.add(value)
  try {
    if (Array.isArray(value)) {
      return `[${value.map((item) => emit(item, sortKeys, depth + 1, seen)).join(',')}]`
    }
    if (value instanceof Map) {
      const entries: [string, string][] = []
      for (const [key, item] of value) {
        entries.push([emit(key, sortKeys, depth + 1, seen), emit(item, sortKeys, depth + 1, seen)])
      }
      // By key text, then value text: Map keys that differ as objects may still encode alike.
      if (sortKeys) entries.sort(([ka, va], [kb, vb]) => compare(ka, kb) || compare(va, vb))
      return `{"$map":[${entries.map(([key, item]) => `[${key},${item}]`).join(',')}]}`
    }
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name
      throw new CapsuleError(
        'INVALID_ARGUMENT',
        `a journaled value cannot hold a ${typeof name === 'string' ? name : 'class'} instance`,
      )
    }
    const keys = Object.keys(value)
    if (sortKeys) keys.sort()
    const members = keys.map((key) => {
      const stored = key.startsWith(TAG_PREFIX) ? TAG_PREFIX + key : key
      return `${JSON.stringify(stored)}:${emit((value as Record<string, unknown>)[key], sortKeys, depth + 1, seen)}`
    })
    return `{${members.join(',')}}`
  } finally {
    seen.delete(value)
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

// `out[key] = …` with key `__proto__` would replace the prototype instead of adding the key.
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
  } else {
    target[key] = value
  }
}

function untag(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) return value.map(untag)
  const map = value as Record<string, unknown>
  const keys = Object.keys(map)
  const first = keys[0]
  if (keys.length === 1 && first !== undefined && TAG_SET.has(first))
    return untagOne(first as Tag, map[first])
  const out: Record<string, unknown> = {}
  for (const key of keys) {
    if (!key.startsWith(TAG_PREFIX)) setOwn(out, key, untag(map[key]))
    else if (key.startsWith(TAG_PREFIX + TAG_PREFIX)) setOwn(out, key.slice(1), untag(map[key]))
    else throw corrupt(`a stored map has the unescaped key ${JSON.stringify(key.slice(0, 40))}`)
  }
  return out
}

function untagOne(tagName: Tag, inner: unknown): unknown {
  switch (tagName) {
    case '$bytes':
      if (typeof inner !== 'string') throw corrupt('a $bytes tag must hold base64 text')
      return new Uint8Array(Buffer.from(inner, 'base64'))
    case '$bigint':
      if (typeof inner !== 'string' || !/^-?\d+$/.test(inner)) throw corrupt('a $bigint tag must hold digits')
      return BigInt(inner)
    case '$num':
      return untagNumber(inner)
    case '$date': {
      const date = typeof inner === 'string' ? new Date(inner) : new Date(Number.NaN)
      if (Number.isNaN(date.getTime())) throw corrupt('a $date tag must hold an ISO date')
      return date
    }
    case '$undefined':
      return undefined
    case '$map':
      if (!Array.isArray(inner)) throw corrupt('a $map tag must hold entries')
      return new Map(
        inner.map((entry: unknown) => {
          if (!Array.isArray(entry) || entry.length !== 2) throw corrupt('a $map entry must be a pair')
          return [untag(entry[0]), untag(entry[1])] as const
        }),
      )
  }
}

function untagNumber(inner: unknown): number {
  switch (inner) {
    case 'NaN':
      return Number.NaN
    case 'Infinity':
      return Number.POSITIVE_INFINITY
    case '-Infinity':
      return Number.NEGATIVE_INFINITY
    case '-0':
      return -0
    default:
      throw corrupt('a $num tag must hold NaN, Infinity, -Infinity or -0')
  }
}

function corrupt(message: string): CapsuleError {
  return new CapsuleError('JOURNAL_CORRUPT', message)
}

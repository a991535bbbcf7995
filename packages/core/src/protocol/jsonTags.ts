import { CapsuleError } from '../errors.js'

// The JSON codec's tagging of what JSON cannot hold (docs/protocol.md): bytes travel as `{"$b": base64}`,
// a map that would read as a tag as `{"$esc": map}`.

const BYTES_TAG = '$b'
const ESCAPE_TAG = '$esc'

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function looksLikeTag(map: Record<string, unknown>): boolean {
  const keys = Object.keys(map)
  return keys.length === 1 && (keys[0] === BYTES_TAG || keys[0] === ESCAPE_TAG)
}

/** The JSON codec's tagged form of a value (bytes → `{"$b": base64}`); also the notation of golden frames. */
export function tagForJson(value: unknown): unknown {
  if (value instanceof Uint8Array)
    return { [BYTES_TAG]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  if (Array.isArray(value)) return value.map(tagForJson)
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(value)) {
      if (item !== undefined) out[key] = tagForJson(item)
    }
    return looksLikeTag(out) ? { [ESCAPE_TAG]: out } : out
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new CapsuleError('INVALID_ARGUMENT', `cannot encode ${value} as JSON`)
  }
  return value
}

/** Inverse of {@link tagForJson}. */
export function untagFromJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(untagFromJson)
  if (isPlainObject(value)) {
    if (looksLikeTag(value)) {
      const [key, inner] = Object.entries(value)[0]!
      if (key === BYTES_TAG) {
        if (typeof inner !== 'string')
          throw new CapsuleError('PROTOCOL_ERROR', 'a $b tag must hold base64 text')
        return new Uint8Array(Buffer.from(inner, 'base64'))
      }
      if (!isPlainObject(inner)) throw new CapsuleError('PROTOCOL_ERROR', 'a $esc tag must hold a map')
      return untagValues(inner)
    }
    return untagValues(value)
  }
  return value
}

function untagValues(map: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(map)) {
    refuseProtoKey(key)
    out[key] = untagFromJson(item)
  }
  return out
}

// JSON.parse keeps `__proto__` as a plain key; assigning it anywhere later (a copy, a schema's output)
// would swap that map's prototype. The msgpack decoder refuses the key too, so both codecs agree.
function refuseProtoKey(key: string): void {
  if (key === '__proto__') throw new CapsuleError('PROTOCOL_ERROR', 'the key __proto__ is not allowed')
}

// {@link untagFromJson} for what JSON.parse just built: tags are replaced where they stand instead of
// copying every map, so a frame of many keys is walked once, each map's keys listed once.
export function untagParsedJson(value: unknown): unknown {
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index += 1) value[index] = untagParsedJson(value[index])
    return value
  }
  if (typeof value !== 'object' || value === null) return value
  const map = value as Record<string, unknown>
  const keys = Object.keys(map)
  if (keys.length === 1 && keys[0] === BYTES_TAG) {
    const inner = map[BYTES_TAG]
    if (typeof inner !== 'string') throw new CapsuleError('PROTOCOL_ERROR', 'a $b tag must hold base64 text')
    return new Uint8Array(Buffer.from(inner, 'base64'))
  }
  if (keys.length === 1 && keys[0] === ESCAPE_TAG) {
    const inner = map[ESCAPE_TAG]
    if (typeof inner !== 'object' || inner === null || Array.isArray(inner))
      throw new CapsuleError('PROTOCOL_ERROR', 'a $esc tag must hold a map')
    const escaped = inner as Record<string, unknown>
    return untagParsedMap(escaped, Object.keys(escaped))
  }
  return untagParsedMap(map, keys)
}

function untagParsedMap(map: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  for (const key of keys) {
    refuseProtoKey(key)
    map[key] = untagParsedJson(map[key])
  }
  return map
}

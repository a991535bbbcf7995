import { Decoder, Encoder } from '@msgpack/msgpack'
import { CapsuleError } from '../errors.js'
import { withAsciiFastStrings } from './asciiStrings.js'
import { checkFrameShape, type FrameShapeLimits } from './frameShape.js'

/** The codecs a worker may pick, in the host's order of preference. */
export const CODEC_NAMES = ['msgpack', 'json'] as const

/** One of {@link CODEC_NAMES}. */
export type CodecName = (typeof CODEC_NAMES)[number]

/** Turns messages into frame bodies and back. Bytes survive both codecs as `Uint8Array`. */
export interface Codec {
  readonly name: CodecName
  encode(message: unknown): Uint8Array
  decode(body: Uint8Array): unknown
}

/**
 * MessagePack: binary-safe and fast; `bin` for bytes, `str` for text. With `shape`, every body is checked
 * against those bounds before it is decoded (LIMIT_EXCEEDED).
 */
export function createMsgpackCodec(shape?: FrameShapeLimits): Codec {
  const encoder = new Encoder({ ignoreUndefined: true })
  const decoder = withAsciiFastStrings(new Decoder())
  return {
    name: 'msgpack',
    encode: (message) => encoder.encode(message),
    decode: (body) => {
      if (shape) checkFrameShape(body, 'msgpack', shape)
      // A plain Uint8Array view, so decoded `bin` values are Uint8Array (not Buffer) like the SDK's binary().
      return decoder.decode(new Uint8Array(body.buffer, body.byteOffset, body.byteLength))
    },
  }
}

const BYTES_TAG = '$b'
const ESCAPE_TAG = '$esc'

/**
 * JSON for workers without msgpack. Bytes travel as `{"$b": base64}`; a map that would read as a tag
 * is escaped as `{"$esc": map}` (docs/protocol.md). With `shape`, as for {@link createMsgpackCodec}.
 */
export function createJsonCodec(shape?: FrameShapeLimits): Codec {
  const textDecoder = new TextDecoder('utf-8', { fatal: true })
  return {
    name: 'json',
    encode: (message) => Buffer.from(JSON.stringify(tagForJson(message)), 'utf8'),
    decode: (body) => {
      if (shape) checkFrameShape(body, 'json', shape)
      return untagParsedJson(JSON.parse(textDecoder.decode(body)))
    },
  }
}

/** Creates the codec with the given name (and, for decoding untrusted frames, their shape bounds). */
export function createCodec(name: CodecName, shape?: FrameShapeLimits): Codec {
  return name === 'msgpack' ? createMsgpackCodec(shape) : createJsonCodec(shape)
}

/**
 * Decodes the worker's first frame, whose codec is not known yet: `{` starts JSON, a msgpack map
 * starts with 0x80–0x8F, 0xDE or 0xDF.
 */
export function decodeHello(
  body: Uint8Array,
  shape?: FrameShapeLimits,
): { codec: CodecName; message: unknown } {
  const first = body[0]
  if (first === 0x7b) return { codec: 'json', message: createJsonCodec(shape).decode(body) }
  if (first !== undefined && ((first >= 0x80 && first <= 0x8f) || first === 0xde || first === 0xdf)) {
    return { codec: 'msgpack', message: createMsgpackCodec(shape).decode(body) }
  }
  throw new CapsuleError('PROTOCOL_ERROR', 'the first frame is neither a JSON nor a MessagePack map')
}

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
function untagParsedJson(value: unknown): unknown {
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

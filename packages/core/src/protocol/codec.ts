import { Decoder, Encoder } from '@msgpack/msgpack'
import { CapsuleError } from '../errors.js'
import { withAsciiFastStrings } from './asciiStrings.js'
import { tagForJson, untagParsedJson } from './jsonTags.js'

/** The codecs a worker may pick, in the host's order of preference. */
export const CODEC_NAMES = ['msgpack', 'json'] as const

/** One of {@link CODEC_NAMES}. */
export type CodecName = (typeof CODEC_NAMES)[number]

/** Turns messages into frame bodies and back. Bytes survive both codecs as `Uint8Array`. */
export interface Codec {
  readonly name: CodecName
  encode(message: unknown): Uint8Array
  /**
   * As {@link Codec.encode}, but the body may be the codec's own buffer, valid only until its next encode:
   * for a sender that copies it at once (a frame transport does). Saves a copy of every frame sent.
   */
  encodeShared(message: unknown): Uint8Array
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
    encodeShared: (message) => encoder.encodeSharedRef(message),
    decode: (body) => {
      if (shape) checkFrameShape(body, 'msgpack', shape)
      // A plain Uint8Array view, so decoded `bin` values are Uint8Array (not Buffer) like the SDK's binary().
      return decoder.decode(new Uint8Array(body.buffer, body.byteOffset, body.byteLength))
    },
  }
}

/**
 * JSON for workers without msgpack. Bytes travel as `{"$b": base64}`; a map that would read as a tag
 * is escaped as `{"$esc": map}` (docs/protocol.md). With `shape`, as for {@link createMsgpackCodec}.
 */
export function createJsonCodec(shape?: FrameShapeLimits): Codec {
  const textDecoder = new TextDecoder('utf-8', { fatal: true })
  return {
    name: 'json',
    encode: (message) => Buffer.from(JSON.stringify(tagForJson(message)), 'utf8'),
    encodeShared: (message) => Buffer.from(JSON.stringify(tagForJson(message)), 'utf8'),
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

// ── the shape of an untrusted body, checked before it is decoded ─────────────────────────────────

/**
 * Bounds on the structure of one frame body from the worker, checked on the encoded bytes before it is
 * decoded. Decoding, schema checks and audit redaction all cost time per key and per item, so these bounds
 * (not what a hostile frame holds) cap that cost.
 */
export interface FrameShapeLimits {
  /** Map entries in the whole frame. */
  maxFrameKeys: number
  /** Array items in the whole frame. */
  maxFrameItems: number
  /** Nesting of maps and arrays; the message's own map is depth 1. */
  maxFrameDepth: number
}

/**
 * Checks a frame body against {@link FrameShapeLimits} without decoding it. Throws LIMIT_EXCEEDED
 * (`details.limit` names the bound) as soon as one is passed, so the work done is bounded by the limits
 * whatever the frame holds. A body whose structure cannot be read is left to the decoder, which reports it.
 *
 * This reads only the containers' headers: msgpack lengths are skipped, JSON strings jumped over with a
 * native search. It checks; it never builds values (the codecs stay the libraries').
 */
export function checkFrameShape(body: Uint8Array, codec: CodecName, limits: FrameShapeLimits): void {
  if (codec === 'msgpack') scanMsgpack(body, limits)
  else scanJson(body, limits)
}

function exceeded(limit: keyof FrameShapeLimits, limits: FrameShapeLimits, found: string): never {
  throw new CapsuleError(
    'LIMIT_EXCEEDED',
    `a frame from the worker has ${found}, more than ${limit} (${limits[limit]})`,
    { details: { limit, [limit]: limits[limit] } },
  )
}

// Big-endian reads that treat bytes past the end as 0 (a truncated body is the decoder's to report). Module
// functions, not closures: the scan runs for every frame.
function u8(bytes: Uint8Array, at: number): number {
  return bytes[at] ?? 0
}

function u16(bytes: Uint8Array, at: number): number {
  return (u8(bytes, at) << 8) | u8(bytes, at + 1)
}

function u32(bytes: Uint8Array, at: number): number {
  return (
    u8(bytes, at) * 0x1000000 + ((u8(bytes, at + 1) << 16) | (u8(bytes, at + 2) << 8) | u8(bytes, at + 3))
  )
}

// MessagePack: one value at a time, with an explicit stack of how many values each open container still
// holds. A header announces its size, so the bounds are judged before the container's contents are read.
function scanMsgpack(bytes: Uint8Array, limits: FrameShapeLimits): void {
  const { maxFrameKeys, maxFrameItems, maxFrameDepth } = limits
  const stack: number[] = []
  let remaining = 1
  let pos = 0
  let keys = 0
  let items = 0
  const end = bytes.byteLength
  for (;;) {
    if (remaining === 0) {
      if (stack.length === 0) return
      remaining = stack.pop()!
      continue
    }
    if (pos >= end) return // truncated: the decoder says so
    remaining -= 1
    const head = bytes[pos]!
    pos += 1
    let entries = -1
    let values = -1
    if (head <= 0x7f || head >= 0xe0 || head === 0xc0 || head === 0xc2 || head === 0xc3) continue
    if (head <= 0x8f) entries = head & 0x0f
    else if (head <= 0x9f) values = head & 0x0f
    else if (head <= 0xbf) pos += head & 0x1f
    else {
      switch (head) {
        case 0xc4: // bin 8
        case 0xd9: // str 8
          pos += 1 + u8(bytes, pos)
          break
        case 0xc5:
        case 0xda:
          pos += 2 + u16(bytes, pos)
          break
        case 0xc6:
        case 0xdb:
          pos += 4 + u32(bytes, pos)
          break
        case 0xc7: // ext 8: length, type, data
          pos += 2 + u8(bytes, pos)
          break
        case 0xc8:
          pos += 3 + u16(bytes, pos)
          break
        case 0xc9:
          pos += 5 + u32(bytes, pos)
          break
        case 0xca:
          pos += 4
          break
        case 0xcb:
          pos += 8
          break
        case 0xcc:
        case 0xd0:
          pos += 1
          break
        case 0xcd:
        case 0xd1:
          pos += 2
          break
        case 0xce:
        case 0xd2:
          pos += 4
          break
        case 0xcf:
        case 0xd3:
          pos += 8
          break
        case 0xd4: // fixext 1..16: type, data
          pos += 2
          break
        case 0xd5:
          pos += 3
          break
        case 0xd6:
          pos += 5
          break
        case 0xd7:
          pos += 9
          break
        case 0xd8:
          pos += 17
          break
        case 0xdc:
          values = u16(bytes, pos)
          pos += 2
          break
        case 0xdd:
          values = u32(bytes, pos)
          pos += 4
          break
        case 0xde:
          entries = u16(bytes, pos)
          pos += 2
          break
        case 0xdf:
          entries = u32(bytes, pos)
          pos += 4
          break
        default:
          return // 0xc1 is never used: undecodable, and the decoder says so
      }
    }
    if (entries < 0 && values < 0) continue
    if (stack.length + 1 > maxFrameDepth) exceeded('maxFrameDepth', limits, 'deeper nesting')
    if (entries >= 0) {
      keys += entries
      if (keys > maxFrameKeys) exceeded('maxFrameKeys', limits, `at least ${keys} map entries`)
      values = entries * 2
    } else {
      items += values
      if (items > maxFrameItems) exceeded('maxFrameItems', limits, `at least ${items} array items`)
    }
    if (values > 0) {
      stack.push(remaining)
      remaining = values
    }
  }
}

const QUOTE = 0x22
const BACKSLASH = 0x5c

// Byte classes of JSON's structural characters; every other byte outside a string is 0.
const OPENS = 1
const CLOSES = 2
const COLON = 3
const COMMA = 4
const STRING = 5
const JSON_CLASS = new Uint8Array(256)
JSON_CLASS[0x7b] = OPENS
JSON_CLASS[0x5b] = OPENS
JSON_CLASS[0x7d] = CLOSES
JSON_CLASS[0x5d] = CLOSES
JSON_CLASS[0x3a] = COLON
JSON_CLASS[0x2c] = COMMA
JSON_CLASS[QUOTE] = STRING

// JSON: one pass over the bytes outside strings, one table look-up each; a string is jumped over with
// Buffer#indexOf. Every `:` is a map entry; an array counts one item when it opens and one more per comma
// (an empty array counts one, which errs on the safe side). The cost is of the order of JSON.parse's own.
function scanJson(body: Uint8Array, limits: FrameShapeLimits): void {
  const { maxFrameKeys, maxFrameItems, maxFrameDepth } = limits
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  // inArray[d] is 1 when the container at depth d is an array.
  const inArray = new Uint8Array(maxFrameDepth + 2)
  let depth = 0
  let keys = 0
  let items = 0
  const end = bytes.byteLength
  for (let pos = 0; pos < end; pos += 1) {
    const kind = JSON_CLASS[bytes[pos]!]
    if (kind === 0) continue
    if (kind === STRING) {
      pos = stringEnd(bytes, pos)
      if (pos < 0) return // unterminated: JSON.parse says so
    } else if (kind === OPENS) {
      depth += 1
      if (depth > maxFrameDepth) exceeded('maxFrameDepth', limits, 'deeper nesting')
      const isArray = bytes[pos] === 0x5b
      inArray[depth] = isArray ? 1 : 0
      if (isArray) {
        items += 1
        if (items > maxFrameItems) exceeded('maxFrameItems', limits, `at least ${items} array items`)
      }
    } else if (kind === CLOSES) {
      if (depth > 0) depth -= 1
    } else if (kind === COLON) {
      keys += 1
      if (keys > maxFrameKeys) exceeded('maxFrameKeys', limits, `at least ${keys} map entries`)
    } else if (inArray[depth] === 1) {
      items += 1
      if (items > maxFrameItems) exceeded('maxFrameItems', limits, `at least ${items} array items`)
    }
  }
}

// The index of the quote that closes the string opening at `open`, or -1. A native search finds the next
// quote; a string dense with escaped quotes is walked byte by byte instead, so neither shape is slow.
function stringEnd(bytes: Buffer, open: number): number {
  let close = open
  for (let escaped = 0; escaped < 16; escaped += 1) {
    close = bytes.indexOf(QUOTE, close + 1)
    if (close < 0) return -1
    let backslashes = 0
    while (bytes[close - 1 - backslashes] === BACKSLASH) backslashes += 1
    if (backslashes % 2 === 0) return close
  }
  const end = bytes.byteLength
  for (let pos = close + 1; pos < end; pos += 1) {
    const byte = bytes[pos]
    if (byte === BACKSLASH) pos += 1
    else if (byte === QUOTE) return pos
  }
  return -1
}

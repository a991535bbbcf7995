import { isAscii } from 'node:buffer'
import { Decoder } from '@msgpack/msgpack'

/**
 * Strings at least this long are checked for ASCII first. Below it the library's own decoding is as fast
 * and the check would only add a call.
 */
export const ASCII_FAST_PATH_BYTES = 1024

/** The members of @msgpack/msgpack's Decoder that its string decoding uses (public at run time). */
interface DecoderInternals {
  bytes: Uint8Array
  pos: number
  maxStrLength: number
  stateIsMapKey(): boolean
  decodeUtf8String(byteLength: number, headerOffset: number): string
}

const libraryDecodeUtf8String = (Decoder.prototype as unknown as DecoderInternals).decodeUtf8String

// Output text is mostly ASCII, and Node decodes ASCII as Latin-1 an order of magnitude faster than UTF-8
// (a memcpy; from about 1 MB Node makes it an external string, off the V8 heap, instead of a heap copy).
// isAscii is a SIMD scan. Anything else, any bound check and every map key go to the library unchanged.
function decodeUtf8String(this: DecoderInternals, byteLength: number, headerOffset: number): string {
  const start = this.pos + headerOffset
  const end = start + byteLength
  const bytes = this.bytes
  if (byteLength < ASCII_FAST_PATH_BYTES || byteLength > this.maxStrLength || end > bytes.byteLength)
    return libraryDecodeUtf8String.call(this, byteLength, headerOffset)
  const view = Buffer.from(bytes.buffer, bytes.byteOffset + start, byteLength)
  if (!isAscii(view) || this.stateIsMapKey())
    return libraryDecodeUtf8String.call(this, byteLength, headerOffset)
  this.pos = end
  return view.toString('latin1')
}

/**
 * Gives `decoder` the ASCII fast path for long strings. The result is the same string the library would
 * decode; asciiStrings.test.ts holds both decodings side by side so a library update that renames these
 * internals fails there, not silently.
 */
export function withAsciiFastStrings(decoder: Decoder): Decoder {
  ;(decoder as unknown as DecoderInternals).decodeUtf8String = decodeUtf8String
  return decoder
}

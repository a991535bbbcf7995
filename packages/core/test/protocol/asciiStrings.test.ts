import { Decoder, Encoder } from '@msgpack/msgpack'
import { describe, expect, test } from 'vitest'
import { ASCII_FAST_PATH_BYTES, withAsciiFastStrings } from '../../src/protocol/asciiStrings.js'

const encode = (value: unknown) => new Encoder().encode(value)
const fast = () => withAsciiFastStrings(new Decoder())
const long = (unit: string, bytes: number) => unit.repeat(Math.ceil(bytes / Buffer.byteLength(unit)))

describe('withAsciiFastStrings', () => {
  test('the library still has the internals the fast path replaces and calls', () => {
    const prototype = Decoder.prototype as unknown as Record<string, unknown>
    expect(typeof prototype.decodeUtf8String).toBe('function')
    expect(typeof prototype.stateIsMapKey).toBe('function')
    const decoder = fast() as unknown as Record<string, unknown>
    expect(decoder.decodeUtf8String).not.toBe(prototype.decodeUtf8String)
  })

  test('decodes long ASCII strings, and marks them as taken, as the library does', () => {
    const text = long('stdout line\n', ASCII_FAST_PATH_BYTES * 3)
    const body = encode({ type: 'stream', id: 7, name: 'stdout', text, after: 'tail' })
    expect(fast().decode(body)).toEqual(new Decoder().decode(body))
    expect(fast().decode(body)).toEqual({ type: 'stream', id: 7, name: 'stdout', text, after: 'tail' })
  })

  test('leaves text with any non-ASCII byte, and every short string, to the library', () => {
    const accented = `${long('a', ASCII_FAST_PATH_BYTES * 2)}é`
    const emoji = long('🙂', ASCII_FAST_PATH_BYTES * 2)
    const controls = long('\u0000\u007f', ASCII_FAST_PATH_BYTES * 2)
    const body = encode([accented, emoji, controls, 'short', long('b', ASCII_FAST_PATH_BYTES - 1)])
    expect(fast().decode(body)).toEqual(new Decoder().decode(body))
    expect((fast().decode(body) as string[])[0]).toBe(accented)
  })

  test('keeps bytes as bytes and long map keys as keys', () => {
    const key = long('k', ASCII_FAST_PATH_BYTES * 2)
    const bytes = new Uint8Array(ASCII_FAST_PATH_BYTES * 2).fill(0x41)
    const body = encode({ [key]: bytes })
    const decoded = fast().decode(body) as Record<string, Uint8Array>
    expect(Object.keys(decoded)).toEqual([key])
    expect(decoded[key]).toBeInstanceOf(Uint8Array)
    expect(Buffer.from(decoded[key]!).equals(Buffer.from(bytes))).toBe(true)
  })

  test('a body cut inside a long string fails as the library fails', () => {
    const body = encode({ text: long('x', ASCII_FAST_PATH_BYTES * 4) })
    const cut = body.subarray(0, body.byteLength - 10)
    expect(() => new Decoder().decode(cut)).toThrow(RangeError)
    expect(() => fast().decode(cut)).toThrow(RangeError)
  })

  test('maxStrLength still bounds long ASCII strings', () => {
    const body = encode(long('x', ASCII_FAST_PATH_BYTES * 4))
    const bounded = withAsciiFastStrings(new Decoder({ maxStrLength: ASCII_FAST_PATH_BYTES }))
    expect(() => bounded.decode(body)).toThrow(/maxStrLength/)
  })

  test('decodes a string that sits at an offset inside a larger buffer', () => {
    const text = long('offset', ASCII_FAST_PATH_BYTES * 2)
    const body = encode({ text })
    const padded = new Uint8Array(body.byteLength + 13)
    padded.set(body, 13)
    expect(fast().decode(padded.subarray(13))).toEqual({ text })
  })
})

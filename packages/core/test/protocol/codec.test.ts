import { describe, expect, test } from 'vitest'
import { createJsonCodec, createMsgpackCodec, decodeHello } from '../../src/protocol/codec.js'

describe.each([createMsgpackCodec(), createJsonCodec()])('$name codec', (codec) => {
  test('round-trips bytes, nested maps, unicode and numbers', () => {
    const value = {
      a: new Uint8Array([0, 255, 10]),
      nested: { list: [1, 2.5, 'é', null, true] },
      big: 2 ** 53 - 1,
    }
    expect(codec.decode(codec.encode(value))).toEqual(value)
  })

  test('keeps a user map that looks like a bytes tag as a map', () => {
    const value = { $b: 'AAEC' }
    expect(codec.decode(codec.encode(value))).toEqual(value)
    const escaped = { $esc: { $b: 'x' } }
    expect(codec.decode(codec.encode(escaped))).toEqual(escaped)
  })
})

describe('decodeHello', () => {
  test('tells JSON from msgpack by the first byte', () => {
    expect(decodeHello(createJsonCodec().encode({ type: 'hello' })).codec).toBe('json')
    expect(decodeHello(createMsgpackCodec().encode({ type: 'hello' })).codec).toBe('msgpack')
  })

  test('refuses a first frame that is neither', () => {
    expect(() => decodeHello(new Uint8Array([0x01, 0x02]))).toThrow(/neither a JSON nor a MessagePack map/)
  })
})

test('both codecs refuse a __proto__ key, which would swap the prototype of the decoded map', () => {
  const json = Buffer.from('{"type": "call", "args": {"__proto__": {"polluted": true}}}')
  expect(() => createJsonCodec().decode(json)).toThrow(/__proto__/)
  // {"a": {"__proto__": {}}}
  const msgpack = Buffer.from('81a16181a95f5f70726f746f5f5f80', 'hex')
  expect(() => createMsgpackCodec().decode(msgpack)).toThrow(/__proto__/)
  expect(({} as Record<string, unknown>).polluted).toBeUndefined()
})

import {
  CallOrdinals,
  callKey,
  canonicalHash,
  canonicalJson,
  decodeJournalValue,
  encodeJournalValue,
} from '@capsule/core/journal'
import { Decoder, Encoder } from '@msgpack/msgpack'
import { describe, expect, test } from 'vitest'

describe('canonicalJson', () => {
  test('sorts map keys at every depth, so insertion order does not change the text', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 2], c: null } })).toBe(
      canonicalJson({ a: { c: null, d: [1, 2] }, b: 1 }),
    )
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}')
  })

  test('sorts keys by UTF-16 code units, integer-like keys included', () => {
    expect(canonicalJson({ b: 0, 10: 0, 9: 0, é: 0, Z: 0 })).toBe('{"10":0,"9":0,"Z":0,"b":0,"é":0}')
  })

  test('tells apart what JSON would merge: -0 and 0, NaN and null, bytes and arrays, Map and object', () => {
    const texts = [
      0,
      -0,
      Number.NaN,
      null,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      new Uint8Array([1, 2]),
      [1, 2],
      new Map([['a', 1]]),
      { a: 1 },
      1n,
      1,
      '1',
      undefined,
      new Date(0),
      { $bytes: 'AQI=' },
      { $$bytes: 'AQI=' },
    ].map(canonicalJson)
    expect(new Set(texts).size).toBe(texts.length)
  })

  test('a map key that looks like a tag is escaped, so no user map reads as a tag', () => {
    expect(canonicalJson({ $bytes: 'AQI=' })).toBe('{"$$bytes":"AQI="}')
    expect(canonicalJson(new Uint8Array([1, 2]))).toBe('{"$bytes":"AQI="}')
  })

  test('Map entries are sorted, so two Maps with the same entries hash alike', () => {
    const a = new Map<unknown, unknown>([
      ['x', 1],
      [2, new Uint8Array([0])],
      [{ k: 1 }, 'o'],
    ])
    const b = new Map<unknown, unknown>([
      [{ k: 1 }, 'o'],
      [2, new Uint8Array([0])],
      ['x', 1],
    ])
    expect(canonicalJson(a)).toBe(canonicalJson(b))
  })

  test('bytes hash by content whatever the view: Buffer, a Uint8Array slice, an ArrayBuffer', () => {
    const backing = new Uint8Array([9, 1, 2, 3, 9])
    const slice = backing.subarray(1, 4)
    expect(canonicalJson(slice)).toBe(canonicalJson(Buffer.from([1, 2, 3])))
    expect(canonicalJson(slice)).toBe(canonicalJson(new Uint8Array([1, 2, 3]).buffer))
  })

  test('bigints beyond 2^64 and lone surrogates have one stable text', () => {
    expect(canonicalJson(2n ** 70n)).toBe('{"$bigint":"1180591620717411303424"}')
    expect(canonicalJson('\ud800')).toBe('"\\ud800"')
  })

  test('refuses functions, symbols, class instances and cycles with INVALID_ARGUMENT', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    for (const bad of [() => 1, Symbol('s'), new (class Point {})(), cyclic, new Int32Array(2)]) {
      expect(() => canonicalJson(bad)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    }
  })

  test('a shared (acyclic) subtree is not a cycle', () => {
    const shared = { x: 1 }
    expect(canonicalJson([shared, shared])).toBe('[{"x":1},{"x":1}]')
  })
})

describe('canonicalHash', () => {
  test('is the sha256 hex of the canonical text and equal for equal msgpack frames from any encoder order', () => {
    const fromPython = new Decoder().decode(
      new Encoder().encode({ url: 'https://a', headers: { b: '2', a: '1' } }),
    )
    const fromHost = { headers: { a: '1', b: '2' }, url: 'https://a' }
    expect(canonicalHash(fromPython)).toMatch(/^[0-9a-f]{64}$/)
    expect(canonicalHash(fromPython)).toBe(canonicalHash(fromHost))
    expect(canonicalHash({ n: 1 })).not.toBe(canonicalHash({ n: 2 }))
  })

  test('is pinned: the same arguments hash the same in every release', () => {
    // sha256 of the canonical texts '{"path":"data.csv"}' and '{"a":{"$bytes":"AQI="},"b":[{"$num":"-0"},{"$bigint":"5"}]}'
    expect(canonicalHash({ path: 'data.csv' })).toBe(
      '6f882b42063a6987c9b907789016f5f56e5716d5f28ca61f9669424e74810b95',
    )
    expect(canonicalHash({ b: [-0, 5n], a: new Uint8Array([1, 2]) })).toBe(
      '1b72331a413a3c3431f84149880470a950b384cbad2f367445074a9da169288a',
    )
  })
})

describe('callKey and CallOrdinals', () => {
  test('a call key is capability/hash/ordinal and refuses malformed parts', () => {
    const hash = canonicalHash({ a: 1 })
    expect(callKey('fs.read_file', hash, 0)).toBe(`fs.read_file/${hash}/0`)
    expect(() => callKey('a/b', hash, 0)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => callKey('fs.read', 'nothex', 0)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
    expect(() => callKey('fs.read', hash, -1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
  })

  test('identical calls get ordinals 0, 1, 2; different arguments count apart', () => {
    const ordinals = new CallOrdinals()
    const a = canonicalHash({ u: 'a' })
    const b = canonicalHash({ u: 'b' })
    expect([
      ordinals.next('http.fetch', a),
      ordinals.next('http.fetch', b),
      ordinals.next('http.fetch', a),
    ]).toEqual([0, 0, 1])
    expect(ordinals.next('fs.read_file', a)).toBe(0)
  })
})

describe('encodeJournalValue', () => {
  test('round-trips every value a frame may hold, keeping key order', () => {
    const value = {
      z: 1,
      a: [
        -0,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        2n ** 80n,
        new Uint8Array([0, 255]),
        null,
        true,
        'é\u0000',
      ],
      m: new Map<unknown, unknown>([
        [1, 'one'],
        ['k', { $tag: 'no' }],
      ]),
      d: new Date(1_700_000_000_000),
      $x: { $$y: 1 },
    }
    const back = decodeJournalValue(encodeJournalValue(value)) as typeof value
    expect(back).toEqual(value)
    expect(Object.keys(back)).toEqual(['z', 'a', 'm', 'd', '$x'])
    expect(Object.is(back.a[0], -0)).toBe(true)
    expect(back.a[4]).toBeInstanceOf(Uint8Array)
    expect(back.m).toBeInstanceOf(Map)
  })

  test('a __proto__ key stays a plain key and never replaces the prototype', () => {
    const value = JSON.parse('{"__proto__":{"polluted":true}}') as object
    const back = decodeJournalValue(encodeJournalValue(value)) as Record<string, unknown>
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
    expect(Object.keys(back)).toEqual(['__proto__'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  test('text that is not its output is JOURNAL_CORRUPT', () => {
    for (const text of ['{', '{"$bytes":1}', '{"$num":"7"}', '{"$nope":1,"b":2}', '{"$bigint":"1.5"}']) {
      expect(() => decodeJournalValue(text)).toThrow(expect.objectContaining({ code: 'JOURNAL_CORRUPT' }))
    }
  })
})

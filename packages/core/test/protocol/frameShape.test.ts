import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { checkFrameShape, createCodec, type FrameShapeLimits } from '../../src/protocol/codec.js'
import { DEFAULT_LIMITS } from '../../src/session/limits.js'

const defaults: FrameShapeLimits = {
  maxFrameKeys: DEFAULT_LIMITS.maxFrameKeys,
  maxFrameItems: DEFAULT_LIMITS.maxFrameItems,
  maxFrameDepth: DEFAULT_LIMITS.maxFrameDepth,
}

// What the scan must find, counted on the value itself. JSON counts an empty array as one item.
function shapeOf(
  value: unknown,
  codec: 'msgpack' | 'json',
  depth = 1,
): { keys: number; items: number; depth: number } {
  const out = { keys: 0, items: 0, depth: 0 }
  if (Array.isArray(value)) {
    out.depth = depth
    out.items = value.length === 0 && codec === 'json' ? 1 : value.length
    for (const item of value) merge(out, shapeOf(item, codec, depth + 1))
  } else if (typeof value === 'object' && value !== null) {
    out.depth = depth
    const entries = Object.entries(value)
    out.keys = entries.length
    for (const [, item] of entries) merge(out, shapeOf(item, codec, depth + 1))
  }
  return out
}
function merge(into: { keys: number; items: number; depth: number }, from: typeof into): void {
  into.keys += from.keys
  into.items += from.items
  into.depth = Math.max(into.depth, from.depth)
}

// A deterministic pseudo-random value of every msgpack and JSON type, strings holding JSON's structural
// characters and escaped quotes, so a scan that miscounts inside strings is caught.
function randomValue(seed: number, depth = 0): unknown {
  let state = seed
  const next = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31
    return state
  }
  const build = (level: number): unknown => {
    const kind = next() % (level > 5 ? 6 : 9)
    switch (kind) {
      case 0:
        return next() % 200
      case 1:
        return -(next() % 100000) - 40
      case 2:
        return next() / 7
      case 3:
        return ['', 'x', '{"a": [1, 2]}', 'quote \\" and \\\\', 'é€😀', ':,[]{}'.repeat(next() % 50)][
          next() % 6
        ]
      case 4:
        return [null, true, false][next() % 3]
      case 5:
        return 2 ** 40 + next()
      case 6:
        return Array.from({ length: next() % 20 }, () => build(level + 1))
      case 7:
      case 8: {
        const map: Record<string, unknown> = {}
        for (let i = next() % 20; i > 0; i -= 1) map[`k${next() % 1000}:{[`] = build(level + 1)
        return map
      }
    }
    return null
  }
  return { type: 'call', id: 1, args: build(depth) }
}

describe.each(['msgpack', 'json'] as const)('%s frames', (codecName) => {
  const codec = createCodec(codecName)

  test('the scan counts exactly the keys, items and depth of the value, strings notwithstanding', () => {
    for (let seed = 1; seed <= 300; seed += 1) {
      const value = randomValue(seed)
      const body = codec.encode(value)
      const shape = shapeOf(value, codecName)
      const exact = { maxFrameKeys: shape.keys, maxFrameItems: shape.items, maxFrameDepth: shape.depth }
      expect(() => checkFrameShape(body, codecName, exact)).not.toThrow()
      for (const limit of ['maxFrameKeys', 'maxFrameItems', 'maxFrameDepth'] as const) {
        if (exact[limit] === 0) continue
        const tighter = { ...exact, [limit]: exact[limit] - 1 }
        expect(() => checkFrameShape(body, codecName, tighter), `seed ${seed}, ${limit}`).toThrow(
          expect.objectContaining({ code: 'LIMIT_EXCEEDED', details: expect.objectContaining({ limit }) }),
        )
      }
    }
  })

  test('a map of 700,000 keys is refused at once, without reading them all', () => {
    const args: Record<string, number> = {}
    for (let i = 0; i < 700_000; i += 1) args[`k${i}`] = i
    const body = codec.encode({ type: 'call', id: 1, exec: null, capability: 'io.input', args })
    const started = performance.now()
    expect(() => checkFrameShape(body, codecName, defaults)).toThrow(
      expect.objectContaining({
        code: 'LIMIT_EXCEEDED',
        details: expect.objectContaining({ limit: 'maxFrameKeys' }),
      }),
    )
    // Decoding it takes seconds; the scan stops after maxFrameKeys entries (generous for a loaded machine).
    expect(performance.now() - started).toBeLessThan(250)
  })

  test('nesting 100,000 deep is refused on the depth bound', () => {
    const body =
      codecName === 'msgpack'
        ? Buffer.concat([Buffer.from([0x81, 0xa1, 0x61]), Buffer.alloc(100_000, 0x91), Buffer.from([0xc0])])
        : Buffer.from(`{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}`)
    expect(() => checkFrameShape(body, codecName, defaults)).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ limit: 'maxFrameDepth' }) }),
    )
  })

  test('malformed and truncated bodies are left to the decoder, which refuses them', () => {
    const bodies =
      codecName === 'msgpack'
        ? [
            Buffer.from([0xc1]),
            Buffer.from([0xde, 0x00, 0x05]),
            Buffer.from([0x82, 0xa1]),
            Buffer.from([0xdb, 0xff, 0xff]),
          ]
        : [Buffer.from('{"a": "unterminated'), Buffer.from('}}}]]'), Buffer.from('{"a": [1, 2')]
    for (const body of bodies) {
      expect(() => checkFrameShape(body, codecName, defaults)).not.toThrow()
      expect(() => codec.decode(body)).toThrow()
    }
  })

  test('a header that announces more entries than allowed is refused on the header alone', () => {
    const body =
      codecName === 'msgpack'
        ? Buffer.from([0xdf, 0xff, 0xff, 0xff, 0xff])
        : Buffer.from(`[${'0,'.repeat(200_000)}0]`)
    expect(() => checkFrameShape(body, codecName, defaults)).toThrow(
      expect.objectContaining({ code: 'LIMIT_EXCEEDED' }),
    )
  })
})

test('every golden frame passes the default bounds', () => {
  const golden = JSON.parse(
    readFileSync(new URL('../../../../docs/golden-frames.json', import.meta.url), 'utf8'),
  ) as Array<{ codec: 'msgpack' | 'json'; hex: string }>
  expect(golden.length).toBeGreaterThan(10)
  for (const frame of golden) {
    const body = Buffer.from(frame.hex, 'hex').subarray(4)
    expect(() => checkFrameShape(body, frame.codec, defaults)).not.toThrow()
  }
})

test('a decoding codec applies the bounds before decoding', () => {
  const tight = { maxFrameKeys: 3, maxFrameItems: 3, maxFrameDepth: 3 }
  for (const name of ['msgpack', 'json'] as const) {
    const body = createCodec(name).encode({ type: 'x', a: 1, b: 2, c: 3 })
    expect(() => createCodec(name, tight).decode(body)).toThrow(
      expect.objectContaining({
        code: 'LIMIT_EXCEEDED',
        details: { limit: 'maxFrameKeys', maxFrameKeys: 3 },
      }),
    )
    expect(createCodec(name).decode(body)).toEqual({ type: 'x', a: 1, b: 2, c: 3 })
  }
})

import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { type CodecName, createCodec } from '../../src/protocol/codec.js'
import { HOT_MESSAGE_TYPES, parseHotFrame, workerMessageSchema } from '../../src/protocol/messages.js'

const GOLDEN_PATH = new URL('../../../../docs/golden-frames.json', import.meta.url)
const golden = JSON.parse(readFileSync(GOLDEN_PATH, 'utf8')) as Array<{
  name: string
  codec: CodecName
  direction: 'worker' | 'host'
  hex: string
}>

// Each frame decoded from its golden bytes, as the host reads it off the pipe.
const workerFrames = golden
  .filter((frame) => frame.direction === 'worker')
  .map((frame) => ({
    label: `${frame.codec} ${frame.name}`,
    decoded: createCodec(frame.codec).decode(Buffer.from(frame.hex, 'hex').subarray(4)) as Record<
      string,
      unknown
    >,
  }))

describe('the hand-checked fast path for hot worker frames', () => {
  test.each(workerFrames.map((frame) => [frame.label, frame.decoded] as const))(
    '%s: the fast path returns what the schema returns, or leaves the frame to it',
    (_, decoded) => {
      const fast = parseHotFrame(decoded)
      const schema = workerMessageSchema.parse(decoded)
      if (HOT_MESSAGE_TYPES.includes(decoded.type as string)) expect(fast).toEqual(schema)
      else expect(fast).toBeUndefined()
    },
  )

  test('every hot type has a golden frame', () => {
    const covered = new Set(workerFrames.map((frame) => frame.decoded.type))
    for (const type of HOT_MESSAGE_TYPES) expect(covered, type).toContain(type)
  })

  // Frames the schema refuses: the fast path must refuse them too (it is never more lenient).
  const bad: Array<[string, unknown]> = [
    ['stream text not a string', { type: 'stream', id: 1, name: 'stdout', text: 42 }],
    ['stream name unknown', { type: 'stream', id: 1, name: 'stdin', text: 'x' }],
    ['negative id', { type: 'stream', id: -1, name: 'stdout', text: 'x' }],
    ['unsafe integer id', { type: 'call_cancel', id: 2 ** 60 }],
    ['fractional id', { type: 'heartbeat', seq: 1.5 }],
    ['call args an array', { type: 'call', id: 1, exec: null, capability: 'a.b', args: [] }],
    ['call args bytes', { type: 'call', id: 1, exec: null, capability: 'a.b', args: new Uint8Array(2) }],
    ['call capability too long', { type: 'call', id: 1, exec: null, capability: 'x'.repeat(257), args: {} }],
    ['call exec missing', { type: 'call', id: 1, capability: 'a.b', args: {} }],
    ['result value a string', { type: 'result', id: 1, count: 1, value: 'x' }],
    ['result mime key too long', { type: 'result', id: 1, count: 1, value: { ['m'.repeat(257)]: 1 } }],
    ['result truncated negative', { type: 'result', id: 1, count: 1, value: null, truncated: -1 }],
    [
      'error traceback of numbers',
      { type: 'error', id: 1, count: 1, ename: 'E', evalue: '', traceback: [1] },
    ],
    ['display metadata an array', { type: 'display', id: 1, data: {}, metadata: [] }],
    ['not a map', ['stream', 1]],
    ['type missing', { id: 1 }],
  ]
  test.each(bad)('%s: refused by both', (_, frame) => {
    expect(workerMessageSchema.safeParse(frame).success).toBe(false)
    expect(parseHotFrame(frame)).toBeUndefined()
  })

  test('keeps only the known fields, in a fresh object', () => {
    const frame = { type: 'stream', id: 1, name: 'stdout', text: 'x', extra: 'dropped' }
    const fast = parseHotFrame(frame)
    expect(fast).toEqual({ type: 'stream', id: 1, name: 'stdout', text: 'x' })
    expect(fast).not.toBe(frame)
    expect(fast).toEqual(workerMessageSchema.parse(frame))
  })
})

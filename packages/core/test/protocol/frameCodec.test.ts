import { describe, expect, test } from 'vitest'
import { CapsuleError } from '../../src/errors.js'
import { encodeFrame, FrameDecoder } from '../../src/protocol/frameCodec.js'

const body = (text: string) => Buffer.from(text)

describe('FrameDecoder', () => {
  test('reassembles frames split at every byte boundary', () => {
    const stream = Buffer.concat([encodeFrame(body('hello')), encodeFrame(body('world!'))])
    for (let split = 0; split <= stream.length; split += 1) {
      const decoder = new FrameDecoder()
      const frames = [...decoder.push(stream.subarray(0, split)), ...decoder.push(stream.subarray(split))]
      expect(frames.map(String)).toEqual(['hello', 'world!'])
      expect(decoder.atBoundary).toBe(true)
    }
  })

  test('rejects an oversized frame on the length prefix alone, before the body arrives', () => {
    const decoder = new FrameDecoder(1024)
    const prefix = Buffer.alloc(4)
    prefix.writeUInt32BE(1025)
    expect(() => decoder.push(prefix)).toThrow(/exceeds the limit of 1024 bytes/)
  })

  test('treats a length of 4 GiB - 1 as oversized without allocating', () => {
    const decoder = new FrameDecoder()
    expect(() => decoder.push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(CapsuleError)
  })

  test('rejects an empty frame', () => {
    expect(() => new FrameDecoder().push(Buffer.alloc(4))).toThrow(/empty frame/)
  })

  test('a clean end at a frame boundary passes; an end inside a frame is a protocol error', () => {
    const clean = new FrameDecoder()
    clean.push(encodeFrame(body('x')))
    expect(() => clean.end()).not.toThrow()

    const truncated = new FrameDecoder()
    truncated.push(encodeFrame(body('abcdef')).subarray(0, 7))
    expect(() => truncated.end()).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }))

    const inPrefix = new FrameDecoder()
    inPrefix.push(Buffer.from([0, 0]))
    expect(() => inPrefix.end()).toThrow(/truncated frame/)
  })

  test('decodes a large frame delivered in many small chunks in one copy', () => {
    const payload = Buffer.alloc(3 * 1024 * 1024, 7)
    const frame = encodeFrame(payload)
    const decoder = new FrameDecoder()
    const out: Buffer[] = []
    for (let offset = 0; offset < frame.length; offset += 65536)
      out.push(...decoder.push(frame.subarray(offset, offset + 65536)))
    expect(out).toHaveLength(1)
    expect(out[0]!.equals(payload)).toBe(true)
  })
})

import { PassThrough } from 'node:stream'
import { describe, expect, test } from 'vitest'
import { CapsuleError } from '../../src/errors.js'
import {
  DEFAULT_MAX_FRAME_BYTES,
  encodeFrame,
  FrameDecoder,
  SEND_LOW_WATER_BYTES,
  StreamFrameTransport,
} from '../../src/transport/frameTransport.js'

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

describe('FrameDecoder with large frames', () => {
  test('fills a large body as it arrives, across frames that share chunks, split anywhere', () => {
    const big = Buffer.alloc(700 * 1024)
    for (let i = 0; i < big.length; i += 1) big[i] = i % 251
    const stream = Buffer.concat([
      encodeFrame(body('a')),
      encodeFrame(big),
      encodeFrame(body('tail')),
      encodeFrame(big),
    ])
    for (const size of [1000, 65536, 300_000, 1_000_001]) {
      const decoder = new FrameDecoder()
      const out: Buffer[] = []
      for (let offset = 0; offset < stream.length; offset += size)
        out.push(...decoder.push(stream.subarray(offset, offset + size)))
      expect(out.map((frame) => frame.length)).toEqual([1, big.length, 4, big.length])
      expect(out[1]!.equals(big) && out[3]!.equals(big)).toBe(true)
      expect(decoder.atBoundary).toBe(true)
    }
  })

  test('an end inside a large body being filled is a truncated frame', () => {
    const decoder = new FrameDecoder()
    decoder.push(encodeFrame(Buffer.alloc(1024 * 1024)).subarray(0, 500_000))
    expect(decoder.atBoundary).toBe(false)
    expect(() => decoder.end()).toThrow(expect.objectContaining({ code: 'PROTOCOL_ERROR' }))
  })
})

describe('StreamFrameTransport.drained', () => {
  function transport() {
    const input = new PassThrough()
    // A slow reader: nothing leaves the output until the test reads it.
    const output = new PassThrough({ highWaterMark: 16 * 1024 })
    const frames = new StreamFrameTransport(input, output, DEFAULT_MAX_FRAME_BYTES)
    frames.start({ onFrame: () => undefined, onClose: () => undefined })
    return { frames, output }
  }

  test('resolves at once while little is queued', async () => {
    const { frames } = transport()
    frames.send(Buffer.alloc(1024))
    await expect(frames.drained()).resolves.toBeUndefined()
  })

  test('waits while more than SEND_LOW_WATER_BYTES are queued, and resolves when the reader takes them', async () => {
    const { frames, output } = transport()
    frames.send(Buffer.alloc(SEND_LOW_WATER_BYTES + 64 * 1024))
    let done = false
    const drained = frames.drained().then(() => {
      done = true
    })
    await new Promise((resolve) => setImmediate(resolve))
    expect(done).toBe(false)
    output.resume()
    await drained
    expect(done).toBe(true)
  })

  test('resolves when the transport closes with frames still queued', async () => {
    const { frames } = transport()
    frames.send(Buffer.alloc(SEND_LOW_WATER_BYTES * 2))
    const drained = frames.drained()
    frames.close()
    await expect(drained).resolves.toBeUndefined()
  })
})

describe('StreamFrameTransport and the reply spin', () => {
  function transport() {
    const input = new PassThrough()
    const output = new PassThrough()
    const frames = new StreamFrameTransport(input, output, DEFAULT_MAX_FRAME_BYTES)
    const received: string[] = []
    frames.start({ onFrame: (frame) => received.push(String(frame)), onClose: () => undefined })
    return { frames, input, received }
  }
  const nextTurn = () => new Promise((resolve) => setImmediate(resolve))

  test('an awaited frame keeps the loop awake until the reply comes', async () => {
    const { frames, input, received } = transport()
    frames.send(body('execute'))
    expect(frames.spinning).toBe(true)
    await nextTurn()
    input.write(encodeFrame(body('result')))
    await nextTurn()
    expect(received).toEqual(['result'])
    expect(frames.spinning).toBe(false)
    frames.close()
  })

  test('a frame nobody awaits (a heartbeat) does not, and close() ends a spin', async () => {
    const { frames } = transport()
    frames.send(body('heartbeat'), { awaited: false })
    expect(frames.spinning).toBe(false)
    frames.send(body('execute'))
    expect(frames.spinning).toBe(true)
    frames.close()
    expect(frames.spinning).toBe(false)
  })
})

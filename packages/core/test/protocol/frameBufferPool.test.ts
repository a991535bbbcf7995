import { spawn } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import { PassThrough } from 'node:stream'
import { beforeEach, describe, expect, test } from 'vitest'
import {
  clearFrameBufferPool,
  idleFrameBufferBytes,
  POOLED_FRAME_MAX_IDLE_BYTES,
  POOLED_FRAME_MIN_BYTES,
  releaseFrameBuffer,
  takeFrameBuffer,
} from '../../src/transport/frameBufferPool.js'
import { StreamFrameTransport } from '../../src/transport/frameTransport.js'

const MiB = 1024 * 1024

beforeEach(clearFrameBufferPool)

describe('the frame buffer pool', () => {
  test('hands a released buffer out again for a frame of similar size', () => {
    const first = takeFrameBuffer(MiB + 4)
    releaseFrameBuffer(first)
    expect(idleFrameBufferBytes()).toBe(first.byteLength)
    const second = takeFrameBuffer(MiB + 100)
    expect(second.buffer).toBe(first.buffer)
    expect(idleFrameBufferBytes()).toBe(0)
  })

  test('does not hand a huge idle buffer to a small frame, nor a small one to a large frame', () => {
    const huge = takeFrameBuffer(4 * MiB)
    releaseFrameBuffer(huge)
    expect(takeFrameBuffer(POOLED_FRAME_MIN_BYTES).buffer).not.toBe(huge.buffer)
    const small = takeFrameBuffer(POOLED_FRAME_MIN_BYTES)
    releaseFrameBuffer(small)
    expect(takeFrameBuffer(MiB).buffer).not.toBe(small.buffer)
  })

  test('keeps small frames out of it, and never more than its idle cap', () => {
    releaseFrameBuffer(takeFrameBuffer(1024))
    expect(idleFrameBufferBytes()).toBe(0)
    const many = Array.from({ length: 8 }, () => takeFrameBuffer(2 * MiB))
    for (const buffer of many) releaseFrameBuffer(buffer)
    expect(idleFrameBufferBytes()).toBeLessThanOrEqual(POOLED_FRAME_MAX_IDLE_BYTES)
    expect(idleFrameBufferBytes()).toBeGreaterThan(0)
    const oversized = takeFrameBuffer(POOLED_FRAME_MAX_IDLE_BYTES + 1)
    expect(oversized.byteLength).toBe(POOLED_FRAME_MAX_IDLE_BYTES + 1)
  })
})

/** Sends `count` large frames, each filled with its own byte, in one turn; resolves with what came back. */
async function echoLargeFrames(input: Readable, output: Writable, count: number): Promise<Buffer[]> {
  const transport = new StreamFrameTransport(input, output, 4 * MiB)
  const received: Buffer[] = []
  const done = new Promise<void>((resolve, reject) => {
    transport.start({
      onFrame: (body) => {
        received.push(Buffer.from(body))
        if (received.length === count) resolve()
      },
      onClose: (error) => (error ? reject(error) : resolve()),
    })
  })
  // Sizes vary so pooled buffers are reused across frames of different lengths.
  for (let i = 0; i < count; i += 1) transport.send(Buffer.alloc(MiB - i * 1000, i + 1))
  await done
  transport.close()
  return received
}

function expectIntact(received: Buffer[], count: number): void {
  expect(received).toHaveLength(count)
  received.forEach((body, i) => {
    expect(body.byteLength).toBe(MiB - i * 1000)
    expect(body.every((byte) => byte === i + 1)).toBe(true)
  })
}

describe('large frames through a transport', () => {
  test('arrive intact through a real pipe, though their buffers are reused as soon as each is written', async () => {
    const cat = spawn('cat', [], { stdio: ['pipe', 'pipe', 'inherit'] })
    try {
      const count = 24
      expectIntact(await echoLargeFrames(cat.stdout, cat.stdin, count), count)
      // The writes are done, so their buffers are back for the next frames.
      expect(idleFrameBufferBytes()).toBeGreaterThan(0)
    } finally {
      cat.kill()
    }
  })

  test('arrive intact through a stream that still holds chunks after its write callback (not pooled)', async () => {
    const loop = new PassThrough({ highWaterMark: 64 * MiB })
    const count = 12
    expectIntact(await echoLargeFrames(loop, loop, count), count)
    expect(idleFrameBufferBytes()).toBe(0)
  })
})

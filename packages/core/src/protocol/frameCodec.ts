import { CapsuleError } from '../errors.js'

/** Bytes in a frame's length prefix. */
export const FRAME_HEADER_BYTES = 4

/** Default largest frame body either side accepts. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024

/** Prefixes a message body with its 4-byte big-endian length. */
export function encodeFrame(body: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.byteLength)
  frame.writeUInt32BE(body.byteLength, 0)
  frame.set(body, FRAME_HEADER_BYTES)
  return frame
}

// A body larger than this that has not fully arrived gets its own buffer, filled as chunks come.
const FILL_AT_BYTES = 256 * 1024

/**
 * Splits a byte stream into frame bodies. The length prefix is checked against `maxFrameBytes`
 * before anything is allocated, and a stream that ends inside a frame is told apart from a clean end.
 * A large body is copied into one buffer of its size as it arrives, so the pipe's chunks are not held
 * beside it: a frame in flight costs its size once.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number
  #chunks: Buffer[] = []
  #buffered = 0
  #expected = -1
  #body: Buffer | undefined
  #filled = 0

  constructor(maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes
  }

  /** Feeds bytes; returns every frame body they complete, in order. Throws PROTOCOL_ERROR on a bad prefix. */
  push(chunk: Buffer): Buffer[] {
    const bodies: Buffer[] = []
    const body = this.#body
    if (body) {
      const take = Math.min(chunk.byteLength, this.#expected - this.#filled)
      chunk.copy(body, this.#filled, 0, take)
      this.#filled += take
      if (this.#filled < this.#expected) return bodies
      bodies.push(body)
      this.#body = undefined
      this.#filled = 0
      this.#expected = -1
      if (take === chunk.byteLength) return bodies
      chunk = chunk.subarray(take)
    }
    this.#chunks.push(chunk)
    this.#buffered += chunk.byteLength
    for (;;) {
      if (this.#expected < 0) {
        if (this.#buffered < FRAME_HEADER_BYTES) break
        const length = this.#peekLength()
        if (length === 0) throw new CapsuleError('PROTOCOL_ERROR', 'received an empty frame')
        if (length > this.maxFrameBytes) {
          throw new CapsuleError(
            'PROTOCOL_ERROR',
            `frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes} bytes`,
            { details: { limit: 'maxFrameBytes', frameBytes: length, maxFrameBytes: this.maxFrameBytes } },
          )
        }
        this.#consume(FRAME_HEADER_BYTES)
        this.#expected = length
      }
      if (this.#buffered < this.#expected) {
        if (this.#expected > FILL_AT_BYTES) this.#startFilling()
        break
      }
      bodies.push(this.#consume(this.#expected))
      this.#expected = -1
    }
    return bodies
  }

  /** Whether the stream is at a frame boundary (a close now is clean). */
  get atBoundary(): boolean {
    return this.#buffered === 0 && this.#expected < 0 && !this.#body
  }

  /** Call at end of stream: throws PROTOCOL_ERROR when it ended inside a frame. */
  end(): void {
    if (!this.atBoundary) {
      throw new CapsuleError('PROTOCOL_ERROR', 'stream ended inside a frame (truncated frame)', {
        details: { bufferedBytes: this.#buffered + this.#filled },
      })
    }
  }

  #startFilling(): void {
    const body = Buffer.allocUnsafe(this.#expected)
    let offset = 0
    for (const chunk of this.#chunks) {
      chunk.copy(body, offset)
      offset += chunk.byteLength
    }
    this.#chunks = []
    this.#buffered = 0
    this.#body = body
    this.#filled = offset
  }

  #peekLength(): number {
    const first = this.#chunks[0]!
    if (first.byteLength >= FRAME_HEADER_BYTES) return first.readUInt32BE(0)
    return Buffer.concat(this.#chunks).readUInt32BE(0)
  }

  // Takes exactly `bytes` from the front; concatenates only the chunks a frame spans.
  #consume(bytes: number): Buffer {
    this.#buffered -= bytes
    const first = this.#chunks[0]!
    if (first.byteLength >= bytes) {
      const out = first.subarray(0, bytes)
      if (first.byteLength === bytes) this.#chunks.shift()
      else this.#chunks[0] = first.subarray(bytes)
      return out
    }
    const out = Buffer.allocUnsafe(bytes)
    let offset = 0
    while (offset < bytes) {
      const chunk = this.#chunks[0]!
      const take = Math.min(chunk.byteLength, bytes - offset)
      chunk.copy(out, offset, 0, take)
      offset += take
      if (take === chunk.byteLength) this.#chunks.shift()
      else this.#chunks[0] = chunk.subarray(take)
    }
    return out
  }
}

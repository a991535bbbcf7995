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

/**
 * Splits a byte stream into frame bodies. The length prefix is checked against `maxFrameBytes`
 * before anything is allocated, and a stream that ends inside a frame is told apart from a clean end.
 */
export class FrameDecoder {
  readonly maxFrameBytes: number
  #chunks: Buffer[] = []
  #buffered = 0
  #expected = -1

  constructor(maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes
  }

  /** Feeds bytes; returns every frame body they complete, in order. Throws PROTOCOL_ERROR on a bad prefix. */
  push(chunk: Buffer): Buffer[] {
    const bodies: Buffer[] = []
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
            { details: { frameBytes: length, maxFrameBytes: this.maxFrameBytes } },
          )
        }
        this.#consume(FRAME_HEADER_BYTES)
        this.#expected = length
      }
      if (this.#buffered < this.#expected) break
      bodies.push(this.#consume(this.#expected))
      this.#expected = -1
    }
    return bodies
  }

  /** Whether the stream is at a frame boundary (a close now is clean). */
  get atBoundary(): boolean {
    return this.#buffered === 0 && this.#expected < 0
  }

  /** Call at end of stream: throws PROTOCOL_ERROR when it ended inside a frame. */
  end(): void {
    if (!this.atBoundary) {
      throw new CapsuleError('PROTOCOL_ERROR', 'stream ended inside a frame (truncated frame)', {
        details: { bufferedBytes: this.#buffered },
      })
    }
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

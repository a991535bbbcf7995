import { Socket } from 'node:net'
import type { Readable, Writable } from 'node:stream'
import { CapsuleError } from '../errors.js'
import { POOLED_FRAME_MIN_BYTES, releaseFrameBuffer, takeFrameBuffer } from './frameBufferPool.js'
import { ReplySpin } from './replySpin.js'

// ── framing: a 4-byte big-endian length, then the body ─────────────────────────────────────────

/** Bytes in a frame's length prefix. */
export const FRAME_HEADER_BYTES = 4

/** Default largest frame body either side accepts. */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024

/**
 * Prefixes a message body with its 4-byte big-endian length, in `into` when given (at least the frame's
 * size; the frame is its start).
 */
export function encodeFrame(body: Uint8Array, into?: Buffer): Buffer {
  const size = FRAME_HEADER_BYTES + body.byteLength
  const frame = into ? into.subarray(0, size) : Buffer.allocUnsafe(size)
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

// ── the transport ────────────────────────────────────────────────────────────────────────────

/** Receives what a transport reads. */
export interface FrameTransportHandlers {
  /** One complete frame body. */
  onFrame(body: Buffer): void
  /** The peer closed: `error` is undefined for a clean close at a frame boundary. */
  onClose(error?: CapsuleError): void
}

/** How a frame is sent. */
export interface SendOptions {
  /**
   * Whether someone waits for the worker's reply to this frame (default true): then the transport keeps
   * the event loop awake for a moment to read it sooner (see `ReplySpin`). A heartbeat says false: nobody
   * waits on its answer, and an idle session beats every few seconds.
   */
  awaited?: boolean
}

/** Moves frame bodies between host and worker; knows nothing of messages or ids. */
export interface FrameTransport {
  start(handlers: FrameTransportHandlers): void
  /**
   * Sends one frame body, copied before this returns (the sender may reuse its buffer). Returns false when
   * the peer is gone (the frame is dropped).
   */
  send(body: Uint8Array, options?: SendOptions): boolean
  /**
   * Resolves once what was sent has mostly left (at most {@link SEND_LOW_WATER_BYTES} still queued), or the
   * transport is closed. A sender of many large frames awaits it between frames, so they do not all sit in
   * memory at once. Transports without a send queue may leave it out.
   */
  drained?(): Promise<void>
  /** Stops reading until `resume()`: the peer blocks once the pipe is full (backpressure). */
  pause(): void
  resume(): void
  /** Stops reading and writing; no handler runs afterwards. Idempotent. */
  close(): void
}

/** Bytes a transport may still hold unsent when {@link FrameTransport.drained} resolves. */
export const SEND_LOW_WATER_BYTES = 1024 * 1024

/** How long one turn of the event loop may spend handing over one worker's frames before it yields. */
export const READ_TURN_BUDGET_MS = 8

/**
 * A transport over a pair of byte streams (the worker's protocol pipes). One reader per pipe:
 * this is the only code that reads `input`.
 *
 * Frames read are queued and handed over for at most {@link READ_TURN_BUDGET_MS} per turn of the event
 * loop; then reading pauses until the next turn. A worker writing small frames at full speed (the loop
 * reads up to 32 chunks of its pipe in one go) therefore takes its share of the loop, not all of it.
 * `pause()` stops the hand-over at once, even inside a chunk.
 */
export class StreamFrameTransport implements FrameTransport {
  readonly #input: Readable
  readonly #output: Writable
  readonly #decoder: FrameDecoder
  readonly #poolsFrames: boolean
  #handlers: FrameTransportHandlers | undefined
  #closed = false
  #framesThisTurn = 0
  // Bodies read but not yet handed over, from #queueHead on.
  #queue: Buffer[] = []
  #queueHead = 0
  #paused = false
  #ended = false
  // When this turn's hand-over started (-1: not in this turn).
  #readTurnStart = -1
  readonly #replySpin = new ReplySpin()

  constructor(input: Readable, output: Writable, maxFrameBytes: number) {
    this.#input = input
    this.#output = output
    this.#decoder = new FrameDecoder(maxFrameBytes)
    // A socket's write callback runs once the kernel has the bytes; other streams (a PassThrough) may still
    // hold the chunk after it, so only a socket's frames come from the pool.
    this.#poolsFrames = output instanceof Socket
  }

  start(handlers: FrameTransportHandlers): void {
    this.#handlers = handlers
    this.#input.on('data', this.#onData)
    this.#input.once('end', this.#onEnd)
    this.#input.on('error', this.#onError)
    // A write to a dead worker surfaces here (EPIPE); the exit path reports it.
    this.#output.on('error', () => {})
  }

  send(body: Uint8Array, options?: SendOptions): boolean {
    if (this.#closed || this.#output.destroyed || this.#output.writableEnded) return false
    // The first frame of a turn of the event loop leaves at once (a lone execute or answer waits for
    // nothing); from the second on they are corked and leave together in one writev at the turn's end
    // (answers to a gathered batch of calls).
    this.#framesThisTurn += 1
    if (this.#framesThisTurn === 1) setImmediate(this.#endTurn)
    else if (this.#framesThisTurn === 2) this.#output.cork()
    if (options?.awaited !== false) this.#replySpin.sent()
    const size = FRAME_HEADER_BYTES + body.byteLength
    if (size < POOLED_FRAME_MIN_BYTES || !this.#poolsFrames) {
      this.#output.write(encodeFrame(body))
      return true
    }
    // A large frame is built in a pooled buffer, returned once the stream has written it.
    const buffer = takeFrameBuffer(size)
    this.#output.write(encodeFrame(body, buffer), () => releaseFrameBuffer(buffer))
    return true
  }

  /** Whether the transport is keeping the event loop awake for the worker's reply now (see {@link ReplySpin}). */
  get spinning(): boolean {
    return this.#replySpin.spinning
  }

  drained(): Promise<void> {
    const output = this.#output
    if (this.#closed || output.destroyed || output.writableLength <= SEND_LOW_WATER_BYTES) {
      return Promise.resolve()
    }
    return new Promise((resolve) => {
      const done = (): void => {
        output.off('drain', done)
        output.off('close', done)
        resolve()
      }
      output.on('drain', done)
      output.on('close', done)
    })
  }

  pause(): void {
    this.#paused = true
    this.#input.pause()
  }

  resume(): void {
    if (this.#closed || !this.#paused) return
    this.#paused = false
    // Next turn: the caller is usually in the middle of answering a frame.
    setImmediate(() => this.#deliver())
  }

  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#replySpin.stop()
    this.#input.off('data', this.#onData)
    this.#input.off('end', this.#onEnd)
    this.#input.destroy()
    this.#output.destroy()
  }

  readonly #endTurn = (): void => {
    const corked = this.#framesThisTurn >= 2
    this.#framesThisTurn = 0
    if (corked && !this.#output.destroyed) this.#output.uncork()
  }

  readonly #onData = (chunk: Buffer): void => {
    if (this.#closed) return
    this.#replySpin.received()
    let bodies: Buffer[]
    try {
      bodies = this.#decoder.push(chunk)
    } catch (error) {
      this.#fail(error as CapsuleError)
      return
    }
    for (const body of bodies) this.#queue.push(body)
    this.#deliver()
  }

  // Hands queued frames over within this turn's budget; reads on only when all are handed over.
  #deliver(): void {
    if (this.#closed) return
    if (this.#readTurnStart < 0) {
      this.#readTurnStart = performance.now()
      setImmediate(this.#endReadTurn)
    }
    const queue = this.#queue
    while (this.#queueHead < queue.length) {
      if (this.#closed || this.#paused) return
      if (performance.now() - this.#readTurnStart >= READ_TURN_BUDGET_MS) {
        this.#input.pause()
        return
      }
      const body = queue[this.#queueHead]!
      queue[this.#queueHead] = undefined as never
      this.#queueHead += 1
      this.#handlers?.onFrame(body)
    }
    this.#queue = []
    this.#queueHead = 0
    if (this.#closed || this.#paused) return
    if (this.#ended) this.#onEnded()
    else if (performance.now() - this.#readTurnStart >= READ_TURN_BUDGET_MS) this.#input.pause()
    else this.#input.resume()
  }

  readonly #endReadTurn = (): void => {
    this.#readTurnStart = -1
    if (this.#closed || this.#paused) return
    if (this.#queueHead < this.#queue.length) this.#deliver()
    else if (!this.#ended) this.#input.resume()
  }

  readonly #onEnd = (): void => {
    if (this.#closed) return
    this.#ended = true
    // Frames still queued are handed over first.
    if (this.#queueHead >= this.#queue.length) this.#onEnded()
  }

  #onEnded(): void {
    try {
      this.#decoder.end()
      this.#finish()
    } catch (error) {
      this.#fail(error as CapsuleError)
    }
  }

  readonly #onError = (error: Error): void => {
    this.#fail(new CapsuleError('PROTOCOL_ERROR', `protocol pipe failed: ${error.message}`, { cause: error }))
  }

  #fail(error: CapsuleError): void {
    if (this.#closed) return
    const handlers = this.#handlers
    this.close()
    handlers?.onClose(error)
  }

  #finish(): void {
    const handlers = this.#handlers
    this.close()
    handlers?.onClose()
  }
}

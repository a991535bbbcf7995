import type { Readable, Writable } from 'node:stream'
import { CapsuleError } from '../errors.js'
import { encodeFrame, FrameDecoder } from '../protocol/frameCodec.js'

/** Receives what a transport reads. */
export interface FrameTransportHandlers {
  /** One complete frame body. */
  onFrame(body: Buffer): void
  /** The peer closed: `error` is undefined for a clean close at a frame boundary. */
  onClose(error?: CapsuleError): void
}

/** Moves frame bodies between host and worker; knows nothing of messages or ids. */
export interface FrameTransport {
  start(handlers: FrameTransportHandlers): void
  /** Sends one frame body. Returns false when the peer is gone (the frame is dropped). */
  send(body: Uint8Array): boolean
  /** Stops reading until `resume()`: the peer blocks once the pipe is full (backpressure). */
  pause(): void
  resume(): void
  /** Stops reading and writing; no handler runs afterwards. Idempotent. */
  close(): void
}

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

  constructor(input: Readable, output: Writable, maxFrameBytes: number) {
    this.#input = input
    this.#output = output
    this.#decoder = new FrameDecoder(maxFrameBytes)
  }

  start(handlers: FrameTransportHandlers): void {
    this.#handlers = handlers
    this.#input.on('data', this.#onData)
    this.#input.once('end', this.#onEnd)
    this.#input.on('error', this.#onError)
    // A write to a dead worker surfaces here (EPIPE); the exit path reports it.
    this.#output.on('error', () => {})
  }

  send(body: Uint8Array): boolean {
    if (this.#closed || this.#output.destroyed || this.#output.writableEnded) return false
    // The first frame of a turn of the event loop leaves at once (a lone execute or answer waits for
    // nothing); from the second on they are corked and leave together in one writev at the turn's end
    // (answers to a gathered batch of calls).
    this.#framesThisTurn += 1
    if (this.#framesThisTurn === 1) setImmediate(this.#endTurn)
    else if (this.#framesThisTurn === 2) this.#output.cork()
    this.#output.write(encodeFrame(body))
    return true
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

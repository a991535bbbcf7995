import { CapsuleError } from '../errors.js'
import type { FrameTransport, FrameTransportHandlers } from './frameTransport.js'

/**
 * One end of an in-process pair of frame transports: what one end sends, the other receives, a turn of
 * the event loop later, as over a pipe. Pausing an end holds what reaches it until it resumes. Closing
 * either end closes both (cleanly, or with `error` from {@link InMemoryFrameTransport.fail}). For tests
 * that run a session against a scripted worker (MCP's InMemoryTransport is the model).
 */
export class InMemoryFrameTransport implements FrameTransport {
  #peer: InMemoryFrameTransport | undefined
  #handlers: FrameTransportHandlers | undefined
  #inbox: Buffer[] = []
  #paused = false
  #closed = false
  #flushing = false

  /** Two linked ends: `[host, worker]`. */
  static createLinkedPair(): [InMemoryFrameTransport, InMemoryFrameTransport] {
    const a = new InMemoryFrameTransport()
    const b = new InMemoryFrameTransport()
    a.#peer = b
    b.#peer = a
    return [a, b]
  }

  /** Whether this end is closed. */
  get closed(): boolean {
    return this.#closed
  }

  start(handlers: FrameTransportHandlers): void {
    this.#handlers = handlers
    this.#schedule()
  }

  send(body: Uint8Array): boolean {
    const peer = this.#peer
    if (this.#closed || !peer || peer.#closed) return false
    // A copy, as a pipe would make: the sender may reuse its buffer.
    peer.#inbox.push(Buffer.from(body))
    peer.#schedule()
    return true
  }

  pause(): void {
    this.#paused = true
  }

  resume(): void {
    this.#paused = false
    this.#schedule()
  }

  close(): void {
    this.#end(undefined, false)
  }

  /** Closes both ends; the peer hears `error` (a broken pipe, a truncated frame). */
  fail(error: CapsuleError = new CapsuleError('PROTOCOL_ERROR', 'the in-memory pipe broke')): void {
    const peer = this.#peer
    this.#end(undefined, false)
    if (peer) peer.#end(error, true)
  }

  // Like a pipe: the end that closes hears nothing more; the other end hears the close.
  #end(error: CapsuleError | undefined, notify: boolean): void {
    if (this.#closed) return
    this.#closed = true
    this.#inbox = []
    const handlers = this.#handlers
    this.#handlers = undefined
    const peer = this.#peer
    if (peer && !peer.#closed) setImmediate(() => peer.#end(undefined, true))
    if (notify) handlers?.onClose(error)
  }

  #schedule(): void {
    if (this.#flushing || this.#inbox.length === 0) return
    this.#flushing = true
    setImmediate(() => {
      this.#flushing = false
      while (!this.#closed && !this.#paused && this.#handlers && this.#inbox.length > 0) {
        this.#handlers.onFrame(this.#inbox.shift()!)
      }
    })
  }
}

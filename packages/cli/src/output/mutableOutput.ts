import { Writable } from 'node:stream'

/**
 * A pass-through to a terminal stream that can be muted, so readline can read a password without echoing
 * it. Writes are forwarded synchronously to keep their order with direct writes to the same terminal.
 */
export class MutableOutput extends Writable {
  muted = false
  readonly isTTY: boolean
  readonly #target: NodeJS.WriteStream

  constructor(target: NodeJS.WriteStream) {
    super()
    this.#target = target
    this.isTTY = Boolean(target.isTTY)
    // readline re-wraps the line on resize; it listens on its output stream.
    const onResize = () => this.emit('resize')
    target.on('resize', onResize)
    this.once('close', () => target.off('resize', onResize))
  }

  /** The terminal's width, which readline needs to move the cursor across wrapped lines. */
  get columns(): number {
    return this.#target.columns
  }

  get rows(): number {
    return this.#target.rows
  }

  override _write(
    chunk: Buffer | string,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    if (!this.muted) this.#target.write(chunk)
    callback()
  }
}

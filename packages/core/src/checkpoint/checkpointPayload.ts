import { type CheckpointHeader, SEAL_MAC_BYTES, sealCheckpoint, sealInPlace } from './checkpointSeal.js'

/** Bytes at the front of a worker's payload that announce its total length (u64 BE, the prefix included). */
const SIZE_HINT_BYTES = 8

// Room left before the payload for the sealed prefix (magic, format, header): a header that does not fit
// is sealed by copying instead. Pages of it the header does not use are never touched.
const MAX_HEADER_ROOM = 64 * 1024
const MIN_HEADER_ROOM = 4 * 1024

/**
 * A checkpoint payload as it arrives from the worker, gathered into the buffer it will be sealed in.
 *
 * Copying a payload from its frames into a sealed buffer at the end holds both at once, and on a host
 * where fresh memory is slow to fault in that second pass costs as much as pickling. The payload opens
 * with its own length, so the first chunk sizes one buffer with room for the header in front of the
 * payload and the MAC after it; each chunk is copied into place as it arrives and its frame is free at
 * once. The length is the worker's claim, so it is only a hint: one above `maxBytes` or one the chunks do
 * not match falls back to keeping the chunks and sealing by copying.
 */
export class CheckpointPayload {
  readonly #maxBytes: number
  #buffer: Buffer | undefined
  #room = 0
  #expected = 0
  #chunks: Uint8Array[] = []
  #received = 0

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  /** Bytes received so far. */
  get received(): number {
    return this.#received
  }

  /** Adds the next chunk (the caller has checked the running total against its cap). */
  add(chunk: Uint8Array): void {
    if (this.#received === 0 && !this.#buffer) this.#sizeFrom(chunk)
    const buffer = this.#buffer
    if (buffer) {
      if (this.#received + chunk.byteLength <= this.#expected) {
        buffer.set(chunk, this.#room + this.#received)
        this.#received += chunk.byteLength
        return
      }
      // More than announced: keep what arrived as one chunk and gather the rest as it comes.
      this.#chunks.push(buffer.subarray(this.#room, this.#room + this.#received))
      this.#buffer = undefined
    }
    this.#chunks.push(chunk)
    this.#received += chunk.byteLength
  }

  /** Seals the payload under `header` and `key`; in place when it arrived as announced. */
  seal(header: CheckpointHeader, key: Uint8Array): Uint8Array {
    const buffer = this.#buffer
    if (buffer && this.#received === this.#expected) {
      const sealed = sealInPlace(buffer, this.#room, this.#expected, header, key)
      if (sealed) return sealed
    }
    const chunks = buffer ? [buffer.subarray(this.#room, this.#room + this.#received)] : this.#chunks
    return sealCheckpoint(header, chunks, key)
  }

  /** Lets go of everything gathered (the exchange failed). */
  discard(): void {
    this.#buffer = undefined
    this.#chunks = []
  }

  #sizeFrom(first: Uint8Array): void {
    if (first.byteLength < SIZE_HINT_BYTES) return
    const view = new DataView(first.buffer, first.byteOffset, SIZE_HINT_BYTES)
    const high = view.getUint32(0)
    const total = view.getUint32(4)
    if (high !== 0 || total < first.byteLength || total > this.#maxBytes) return
    this.#room = Math.min(MAX_HEADER_ROOM, MIN_HEADER_ROOM + total)
    try {
      this.#buffer = Buffer.allocUnsafe(this.#room + total + SEAL_MAC_BYTES)
    } catch {
      return // no memory for it at once: gather the chunks instead
    }
    this.#expected = total
  }
}

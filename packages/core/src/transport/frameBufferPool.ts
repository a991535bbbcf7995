/**
 * Reusable buffers for large outgoing frames, shared by every transport of the process.
 *
 * A frame is copied out of the codec's shared buffer before it is written, and a fresh `Buffer` of a
 * megabyte or more is memory the kernel has to fault in page by page, then external memory the collector
 * has to account for: a capability returning 1 MiB spent more time allocating its frame than writing it.
 * A buffer goes back to the pool once the stream has written it (the write's callback), so a buffer is never
 * reused while the kernel may still read it.
 */

/** Frames smaller than this come from `Buffer.allocUnsafe` (its own slab pool serves the small ones). */
export const POOLED_FRAME_MIN_BYTES = 64 * 1024

/** Most bytes the pool keeps idle across all transports; a buffer that would pass it is dropped. */
export const POOLED_FRAME_MAX_IDLE_BYTES = 8 * 1024 * 1024

const idle: Buffer[] = []
let idleBytes = 0

/** Capacity classes are powers of two, so frames of similar size share buffers. */
function capacityFor(bytes: number): number {
  return 2 ** Math.ceil(Math.log2(bytes))
}

/**
 * A buffer of at least `bytes`, from the pool when one fits. Give it back with {@link releaseFrameBuffer}
 * only once nothing reads it any more.
 */
export function takeFrameBuffer(bytes: number): Buffer {
  if (bytes < POOLED_FRAME_MIN_BYTES) return Buffer.allocUnsafe(bytes)
  for (let i = idle.length - 1; i >= 0; i -= 1) {
    const buffer = idle[i]!
    if (buffer.byteLength >= bytes && buffer.byteLength <= 2 * capacityFor(bytes)) {
      idle.splice(i, 1)
      idleBytes -= buffer.byteLength
      return buffer
    }
  }
  const capacity = capacityFor(bytes)
  // A frame too large for the pool to ever keep gets exactly its size.
  return Buffer.allocUnsafe(capacity > POOLED_FRAME_MAX_IDLE_BYTES ? bytes : capacity)
}

/**
 * Returns a buffer exactly as {@link takeFrameBuffer} gave it; small ones, and any the idle cap has no room
 * for, are left to the collector.
 */
export function releaseFrameBuffer(buffer: Buffer): void {
  const size = buffer.byteLength
  if (size < POOLED_FRAME_MIN_BYTES || idleBytes + size > POOLED_FRAME_MAX_IDLE_BYTES) return
  idle.push(buffer)
  idleBytes += size
}

/** Drops every idle buffer, for the collector to take (a host short of memory; tests). */
export function clearFrameBufferPool(): void {
  idle.length = 0
  idleBytes = 0
}

/** Bytes the pool holds idle. */
export function idleFrameBufferBytes(): number {
  return idleBytes
}

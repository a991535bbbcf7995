import type { FileHandle } from 'node:fs/promises'
import { CapabilityError } from '@capsule/provider-sdk'
import { quote, throwIfAborted } from './fsErrors.js'

/** Bytes moved per read or write call; the signal is checked between chunks. */
const CHUNK_BYTES = 256 * 1024

/**
 * Reads `handle` from the start to its end, failing with LIMIT_EXCEEDED as soon as more than `maxBytes`
 * arrive: the fstat size was checked before, but a file can grow while it is read.
 */
export async function readCapped(
  handle: FileHandle,
  maxBytes: number,
  signal: AbortSignal,
  display: string,
): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  for (;;) {
    throwIfAborted(signal)
    // Ask for one byte past the cap, so a file exactly at the cap is fine and one byte more is not.
    const want = Math.min(CHUNK_BYTES, maxBytes + 1 - total)
    const chunk = Buffer.allocUnsafe(want)
    const { bytesRead } = await handle.read(chunk, 0, want, total)
    if (bytesRead === 0) break
    total += bytesRead
    if (total > maxBytes) throw limitExceeded(display, maxBytes, 'read')
    chunks.push(bytesRead === want ? chunk : chunk.subarray(0, bytesRead))
  }
  return Buffer.concat(chunks, total)
}

/**
 * Copies all of `source` into `target` at their current positions; throws `tooLarge()` as soon as more
 * than `maxBytes` were read (the source may have grown since it was measured).
 */
export async function copyCapped(
  source: FileHandle,
  target: FileHandle,
  maxBytes: number,
  signal: AbortSignal,
  tooLarge: () => Error,
): Promise<void> {
  let total = 0
  const chunk = Buffer.allocUnsafe(CHUNK_BYTES)
  for (;;) {
    throwIfAborted(signal)
    const { bytesRead } = await source.read(chunk, 0, CHUNK_BYTES, total)
    if (bytesRead === 0) return
    total += bytesRead
    if (total > maxBytes) throw tooLarge()
    await writeAll(target, chunk.subarray(0, bytesRead), signal)
  }
}

/** Writes all of `data` to `handle` at its current position, in chunks. */
export async function writeAll(handle: FileHandle, data: Uint8Array, signal: AbortSignal): Promise<void> {
  let offset = 0
  while (offset < data.byteLength) {
    throwIfAborted(signal)
    const length = Math.min(CHUNK_BYTES, data.byteLength - offset)
    const { bytesWritten } = await handle.write(data, offset, length)
    offset += bytesWritten
  }
}

/** The LIMIT_EXCEEDED error for a read or write over its cap. */
export function limitExceeded(display: string, capBytes: number, what: 'read' | 'write'): CapabilityError {
  return new CapabilityError(
    'LIMIT_EXCEEDED',
    `${quote(display)}: the ${what} would exceed the ${what} cap of ${capBytes} bytes`,
    { details: { limitBytes: capBytes } },
  )
}

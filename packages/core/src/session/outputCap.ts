import type { MimeBundle } from '../protocol/messages.js'

/** The worker's marker on stderr when an execution's output passes `maxOutputBytes`; the host adds the same. */
export const OUTPUT_TRUNCATION_MARKER = '\n[capsule: output truncated]\n'

/** Added once on stderr when the host cuts or drops displays past `maxDisplayOutputBytes`. */
export const DISPLAY_TRUNCATION_MARKER = '\n[capsule: display output truncated]\n'

/** Ends a cut `text/plain`, as the worker ends a cut repr. */
export const TRUNCATED_SUFFIX = '…'

const MARKER_BYTES = Buffer.byteLength(OUTPUT_TRUNCATION_MARKER)
const SUFFIX_BYTES = Buffer.byteLength(TRUNCATED_SUFFIX)

/** What the host keeps of one piece of output, and the marker to add after it, if any. */
export interface KeptOutput<T> {
  keep: T | undefined
  marker?: string
}

/**
 * The host's own count of one execution's output and displays. The worker caps them too, but Python can
 * write frames straight onto its pipe, so the host truncates and marks the same way (the worker's output
 * marker, the `…` of a cut repr) and counts what it dropped.
 */
export class OutputCap {
  #outputRoom: number
  #displayRoom: number
  #outputMarked = false
  #displayMarked = false
  /** Output bytes (UTF-8) the host dropped. */
  droppedOutputBytes = 0
  /** Display bytes (as framed) the host dropped. */
  droppedDisplayBytes = 0

  constructor(limits: { maxOutputBytes: number; maxDisplayOutputBytes: number }) {
    // The worker sends its marker after the last byte it keeps, so a worker that keeps to the cap never
    // trips the host's count.
    this.#outputRoom = limits.maxOutputBytes + MARKER_BYTES
    this.#displayRoom = limits.maxDisplayOutputBytes
  }

  /** The part of a `stream` text that fits, and the marker when this is where output is first cut. */
  stream(text: string): KeptOutput<string> {
    const bytes = Buffer.byteLength(text, 'utf8')
    if (bytes <= this.#outputRoom) {
      this.#outputRoom -= bytes
      return { keep: text }
    }
    const head = utf8Prefix(text, this.#outputRoom)
    this.droppedOutputBytes += bytes - Buffer.byteLength(head, 'utf8')
    this.#outputRoom = 0
    const kept = head.length > 0 ? head : undefined
    if (this.#outputMarked) return { keep: kept }
    this.#outputMarked = true
    return { keep: kept, marker: OUTPUT_TRUNCATION_MARKER }
  }

  /**
   * A display as kept: whole while the execution's displays fit, then the one that crosses the cap reduced
   * to its `text/plain` cut to the room left (ending in `…`), then none. `frameBytes` is its frame's size.
   */
  display(data: MimeBundle, frameBytes: number): KeptOutput<MimeBundle> {
    if (frameBytes <= this.#displayRoom) {
      this.#displayRoom -= frameBytes
      return { keep: data }
    }
    const room = this.#displayRoom
    this.#displayRoom = 0
    let keep: MimeBundle | undefined
    const text = data['text/plain']
    if (typeof text === 'string' && room > SUFFIX_BYTES) {
      const head = utf8Prefix(text, room - SUFFIX_BYTES)
      keep = { 'text/plain': head + TRUNCATED_SUFFIX }
      this.droppedDisplayBytes += Math.max(0, frameBytes - Buffer.byteLength(head, 'utf8') - SUFFIX_BYTES)
    } else {
      this.droppedDisplayBytes += frameBytes
    }
    if (this.#displayMarked) return { keep }
    this.#displayMarked = true
    return { keep, marker: DISPLAY_TRUNCATION_MARKER }
  }
}

/** The longest prefix of `text` whose UTF-8 form fits in `maxBytes`, never cutting a character. */
export function utf8Prefix(text: string, maxBytes: number): string {
  if (maxBytes <= 0) return ''
  // A prefix of maxBytes UTF-8 bytes has at most maxBytes characters: encode no more than that.
  let slice = text.length > maxBytes ? text.slice(0, maxBytes) : text
  const last = slice.charCodeAt(slice.length - 1)
  if (last >= 0xd800 && last <= 0xdbff) slice = slice.slice(0, -1)
  const bytes = Buffer.from(slice, 'utf8')
  if (bytes.byteLength <= maxBytes) return slice
  let cut = maxBytes
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut -= 1
  return bytes.subarray(0, cut).toString('utf8')
}

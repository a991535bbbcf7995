/** Pieces at least this long are kept as they are; shorter ones are merged first. */
const LARGE_PIECE_CHARS = 4096
/** Short pieces merged into one string at a time. */
const MERGE_AT_PIECES = 256

/**
 * An execution's stdout or stderr, collected chunk by chunk and read once at the end.
 *
 * A flood of one-byte writes must cost bytes, not a string and an array slot per write, so short pieces
 * are merged in batches. Large pieces (a big write arrives as frames of up to a MiB) are concatenated
 * with `+`, which V8 keeps as a rope over the pieces instead of copying them into a new flat string: a
 * 50 MB write is not copied once more on its way into the result. V8 flattens the rope on the first
 * access that needs contiguous characters, and only then.
 */
export class TextAccumulator {
  #text = ''
  #small: string[] = []

  push(text: string): void {
    if (text.length >= LARGE_PIECE_CHARS) {
      this.#mergeSmall()
      this.#text += text
      return
    }
    this.#small.push(text)
    if (this.#small.length >= MERGE_AT_PIECES) this.#mergeSmall()
  }

  toString(): string {
    this.#mergeSmall()
    return this.#text
  }

  #mergeSmall(): void {
    if (this.#small.length === 0) return
    this.#text += this.#small.length === 1 ? this.#small[0] : this.#small.join('')
    this.#small = []
  }
}

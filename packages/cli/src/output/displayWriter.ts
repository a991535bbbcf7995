import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { MimeBundle } from '@capsule/core'
import { escapeUntrusted } from './escapeUntrusted.js'

const IMAGE_TYPES: Record<string, { extension: string; encoding: 'base64' | 'utf8' }> = {
  'image/png': { extension: 'png', encoding: 'base64' },
  'image/svg+xml': { extension: 'svg', encoding: 'utf8' },
}

/**
 * Turns mime bundles (values and `display()` output) into terminal text. Images cannot be shown in a
 * terminal, so they are saved to files in the output directory (`--output-dir`, else a fresh temp
 * directory) and their path is printed instead.
 */
export class DisplayWriter {
  readonly #requestedDir: string | undefined
  #dir: string | undefined
  #count = 0
  /** Every file written so far. */
  readonly files: string[] = []

  constructor(outputDir?: string) {
    this.#requestedDir = outputDir
  }

  /** The text to print for `bundle` (without a trailing newline), saving any image first. */
  render(bundle: MimeBundle): string {
    for (const [mime, { extension, encoding }] of Object.entries(IMAGE_TYPES)) {
      const data = bundle[mime]
      if (typeof data !== 'string') continue
      const bytes = Buffer.from(data, encoding)
      this.#count += 1
      const file = path.join(this.#outputDir(), `display-${this.#count}.${extension}`)
      writeFileSync(file, bytes)
      this.files.push(file)
      return `[${mime}, ${bytes.byteLength} bytes, saved to ${file}]`
    }
    const text = bundle['text/plain'] ?? bundle['text/markdown']
    if (typeof text === 'string') return text
    if (bundle['application/json'] !== undefined) return JSON.stringify(bundle['application/json'], null, 2)
    // The text of a bundle is the cell's output; its mime type names are not, so they are escaped.
    return `[${escapeUntrusted(Object.keys(bundle).join(', ')) || 'empty'} display without text/plain]`
  }

  #outputDir(): string {
    if (this.#dir) return this.#dir
    if (this.#requestedDir) {
      mkdirSync(this.#requestedDir, { recursive: true })
      this.#dir = this.#requestedDir
    } else {
      this.#dir = mkdtempSync(path.join(tmpdir(), 'capsule-output-'))
    }
    return this.#dir
  }
}

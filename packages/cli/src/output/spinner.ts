const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏']
const FRAME_MS = 80

/** How long work must last before a spinner appears: quick cells stay quiet. */
export const SPINNER_DELAY_MS = 300

/**
 * A one-line progress indicator on stderr. Disabled (every method a no-op) when stderr is not a terminal,
 * so piped output stays clean. It erases itself before anything else is written: call `stop()` first.
 */
export class Spinner {
  readonly #stream: NodeJS.WritableStream
  readonly #enabled: boolean
  #delay: NodeJS.Timeout | undefined
  #tick: NodeJS.Timeout | undefined
  #visible = false

  constructor(stream: NodeJS.WritableStream, enabled: boolean) {
    this.#stream = stream
    this.#enabled = enabled
  }

  /** Shows `label` (with the seconds elapsed) after `delayMs`, unless stopped before. */
  start(label: string, delayMs: number = SPINNER_DELAY_MS): void {
    if (!this.#enabled) return
    this.stop()
    const startedAt = performance.now()
    let frame = 0
    const draw = () => {
      const seconds = ((performance.now() - startedAt) / 1000).toFixed(1)
      this.#stream.write(`\r\x1b[2K\x1b[2m${FRAMES[frame % FRAMES.length]} ${label} ${seconds}s\x1b[22m`)
      frame += 1
      this.#visible = true
    }
    this.#delay = setTimeout(() => {
      this.#delay = undefined
      draw()
      this.#tick = setInterval(draw, FRAME_MS)
      this.#tick.unref()
    }, delayMs)
    this.#delay.unref()
  }

  /** Hides the spinner and cancels a pending one. */
  stop(): void {
    if (this.#delay) clearTimeout(this.#delay)
    if (this.#tick) clearInterval(this.#tick)
    this.#delay = undefined
    this.#tick = undefined
    if (this.#visible) this.#stream.write('\r\x1b[2K')
    this.#visible = false
  }
}

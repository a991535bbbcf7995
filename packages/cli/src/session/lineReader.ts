import { createInterface, type Interface } from 'node:readline'
import { MutableOutput } from '../output/mutableOutput.js'
import type { Terminal } from '../output/terminal.js'

/**
 * Answers `input()` prompts for `exec` and `run`: at a terminal, a readline question (not echoed for
 * passwords); from a pipe, the next line of stdin. `undefined` means stdin ended (or Ctrl-C/Ctrl-D).
 */
export class LineReader {
  readonly #terminal: Terminal
  readonly #promptStream: NodeJS.WriteStream
  readonly #onInterrupt: () => void
  #piped: { rl: Interface; lines: string[]; ended: boolean; waiter: (() => void) | undefined } | undefined
  #question: Interface | undefined

  /** `promptStream` receives prompts (stderr under `--json`); `onInterrupt` runs on Ctrl-C during a question. */
  constructor(terminal: Terminal, promptStream: NodeJS.WriteStream, onInterrupt: () => void) {
    this.#terminal = terminal
    this.#promptStream = promptStream
    this.#onInterrupt = onInterrupt
  }

  /** Reads one answer to `prompt`. */
  ask(prompt: string, password: boolean): Promise<string | undefined> {
    if (this.#terminal.stdin.isTTY && this.#promptStream.isTTY) return this.#askTerminal(prompt, password)
    this.#promptStream.write(prompt)
    return this.#nextPipedLine()
  }

  /** Stops reading stdin. Idempotent. */
  close(): void {
    this.#question?.close()
    this.#piped?.rl.close()
  }

  #askTerminal(prompt: string, password: boolean): Promise<string | undefined> {
    const output = new MutableOutput(this.#promptStream)
    const rl = createInterface({ input: this.#terminal.stdin, output, terminal: true })
    this.#question = rl
    return new Promise((resolve) => {
      let answered = false
      rl.on('SIGINT', () => {
        rl.close()
        this.#onInterrupt()
      })
      rl.on('close', () => {
        output.destroy()
        if (password) this.#promptStream.write('\n')
        if (!answered) resolve(undefined)
      })
      rl.question(prompt, (answer) => {
        answered = true
        resolve(answer)
        rl.close()
      })
      output.muted = password
    })
  }

  #nextPipedLine(): Promise<string | undefined> {
    if (!this.#piped) {
      const rl = createInterface({ input: this.#terminal.stdin, terminal: false })
      const piped = { rl, lines: [] as string[], ended: false, waiter: undefined as (() => void) | undefined }
      rl.on('line', (line) => {
        piped.lines.push(line)
        piped.waiter?.()
      })
      rl.on('close', () => {
        piped.ended = true
        piped.waiter?.()
      })
      this.#piped = piped
    }
    const piped = this.#piped
    return new Promise((resolve) => {
      const take = () => {
        if (piped.lines.length > 0) {
          piped.waiter = undefined
          resolve(piped.lines.shift())
        } else if (piped.ended) {
          piped.waiter = undefined
          resolve(undefined)
        } else piped.waiter = take
      }
      take()
    })
  }
}

import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** The built `capsule` binary the tests drive. */
export const CAPSULE_BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url))

/** Fails with instructions when the CLI has not been built (the root `pnpm test` builds first). */
export function assertBuilt(): void {
  if (!existsSync(CAPSULE_BIN)) {
    throw new Error(`${CAPSULE_BIN} is missing: run \`pnpm build\` before the CLI tests`)
  }
}

/** What one `capsule` run printed and how it ended. */
export interface CliRun {
  code: number | null
  stdout: string
  stderr: string
}

/** The environment every run gets: no history file, no colours, the interpreter the other tests use. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, CAPSULE_REPL_HISTORY: '', NO_COLOR: '1', ...extra }
}

/** Runs `capsule ARGS` in `cwd` with `input` on stdin, and collects its output. */
export function runCli(
  args: readonly string[],
  options: { cwd?: string; input?: string; env?: Record<string, string> } = {},
): Promise<CliRun> {
  assertBuilt()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CAPSULE_BIN, ...args], {
      cwd: options.cwd,
      env: cliEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end(options.input ?? '')
  })
}

// Python's pty module gives the REPL a real terminal without a native Node addon.
const PTY_SPAWN = 'import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))'

/**
 * `capsule ARGS` on a pseudo-terminal, driven like a person at a keyboard: `expect` waits for text to
 * appear (ANSI sequences removed) after what was already matched, `send` types.
 */
export class PtyCli {
  readonly exited: Promise<number | null>
  #output = ''
  #cursor = 0
  #waiter: (() => void) | undefined
  #closed = false
  readonly #child

  constructor(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
    assertBuilt()
    this.#child = spawn('python3', ['-c', PTY_SPAWN, process.execPath, CAPSULE_BIN, ...args], {
      cwd: options.cwd,
      env: cliEnv({ COLUMNS: '200', TERM: 'xterm', ...options.env }),
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    this.#child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      this.#output += chunk.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '')
      this.#waiter?.()
    })
    this.exited = new Promise((resolve) => {
      this.#child.on('close', (code) => {
        this.#closed = true
        this.#waiter?.()
        resolve(code)
      })
    })
  }

  /** Everything the terminal showed so far (without ANSI sequences and carriage returns). */
  get output(): string {
    return this.#output
  }

  /** Types `text` (`\r` is Enter, `\x03` Ctrl-C, `\x04` Ctrl-D). */
  send(text: string): void {
    this.#child.stdin.write(text)
  }

  /** Waits until `pattern` appears after the previous match. */
  expect(pattern: string | RegExp, timeoutMs = 10_000): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiter = undefined
        reject(new Error(`timed out waiting for ${pattern}; the terminal showed:\n${this.#output}`))
      }, timeoutMs)
      const check = () => {
        const rest = this.#output.slice(this.#cursor)
        const match = typeof pattern === 'string' ? indexOf(rest, pattern) : rest.match(pattern)
        if (!match) {
          if (!this.#closed) return
          clearTimeout(timer)
          this.#waiter = undefined
          reject(
            new Error(`the process exited before ${pattern} appeared; the terminal showed:\n${this.#output}`),
          )
          return
        }
        clearTimeout(timer)
        this.#waiter = undefined
        this.#cursor += (match.index ?? 0) + match[0].length
        resolve(match[0])
      }
      this.#waiter = check
      check()
    })
  }

  /** Kills the terminal (cleanup after a failed test). */
  kill(): void {
    this.#child.kill('SIGKILL')
  }
}

function indexOf(text: string, search: string): RegExpMatchArray | null {
  const index = text.indexOf(search)
  if (index === -1) return null
  const match = [search] as unknown as RegExpMatchArray
  match.index = index
  return match
}

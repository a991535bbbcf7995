import { spawn } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { vi } from 'vitest'

const REPO = fileURLToPath(new URL('../../../', import.meta.url))
const CLI_SOURCE = path.join(REPO, 'packages/cli/src/bin.ts')
const CLI_BUILT = path.join(REPO, 'packages/cli/dist/bin.js')
const TSX_LOADER = path.join(REPO, 'node_modules/tsx/dist/loader.mjs')

/** The newest modification time of the `.ts` files under `dir` (0 when there are none). */
function newestSource(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts'))
      newest = Math.max(newest, statSync(path.join(entry.parentPath, entry.name)).mtimeMs)
  }
  return newest
}

/** The directories of the workspace packages, by name. */
function workspacePackages(): Map<string, string> {
  const dirs = [
    ...readdirSync(path.join(REPO, 'packages')).map((name) => path.join(REPO, 'packages', name)),
    path.join(REPO, 'contract-tests'),
    path.join(REPO, 'python-worker'),
  ]
  return new Map(dirs.map((dir) => [readManifest(dir).name as string, dir]))
}

function readManifest(dir: string): { name?: string; dependencies?: Record<string, string> } {
  return JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))
}

/**
 * Whether the builds of the CLI and of every workspace package it depends on are newer than all their
 * sources and manifests: only then may the tests run dist/ (quicker to start) without testing stale code.
 */
function buildIsCurrent(): boolean {
  const workspace = workspacePackages()
  const pending = ['@capsule/cli']
  const seen = new Set<string>()
  let oldestBuild = Number.POSITIVE_INFINITY
  let newestInput = 0
  while (pending.length > 0) {
    const name = pending.pop()!
    const dir = workspace.get(name)
    if (!dir || seen.has(name)) continue
    seen.add(name)
    const manifest = readManifest(dir)
    pending.push(...Object.keys(manifest.dependencies ?? {}))
    newestInput = Math.max(newestInput, statSync(path.join(dir, 'package.json')).mtimeMs)
    // Packages of plain files (the Python worker) have nothing to build.
    if (!statSync(path.join(dir, 'src'), { throwIfNoEntry: false })) continue
    const built = statSync(path.join(dir, 'dist/index.js'), { throwIfNoEntry: false })
    if (!built) return false
    oldestBuild = Math.min(oldestBuild, built.mtimeMs)
    newestInput = Math.max(newestInput, newestSource(path.join(dir, 'src')))
  }
  return statSync(CLI_BUILT, { throwIfNoEntry: false }) !== undefined && oldestBuild > newestInput
}

/**
 * Whether the tests run the built CLI: only when the build is current (`pnpm build` after the last edit,
 * as the root `pnpm test` does). Otherwise — a fresh clone, or sources edited since — they run the CLI's
 * sources under tsx with the workspace packages resolved from source: no build needed, and never stale
 * code. The built tarballs are proven apart, by test/packaging.
 */
export const CAPSULE_RUNS_BUILT = buildIsCurrent()

/** The `capsule` command the tests drive, as argv (see {@link CAPSULE_RUNS_BUILT}). */
export const CAPSULE_COMMAND: readonly string[] = CAPSULE_RUNS_BUILT
  ? [process.execPath, CLI_BUILT]
  : [process.execPath, '--import', TSX_LOADER, '--conditions=@capsule/source', CLI_SOURCE]

// From source each run first loads the CLI and the packages through tsx, about a second more CPU than
// the build: on a busy machine the concurrent CLI tests need more than the default 20 s.
if (!CAPSULE_RUNS_BUILT) vi.setConfig({ testTimeout: 60_000 })

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
  return new Promise((resolve, reject) => {
    const [command, ...prefix] = CAPSULE_COMMAND
    const child = spawn(command!, [...prefix, ...args], {
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
    this.#child = spawn('python3', ['-c', PTY_SPAWN, ...CAPSULE_COMMAND, ...args], {
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

import { type ChildProcess, spawn } from 'node:child_process'
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

/** A durable host process (a wrapper around fixtures/durableHost.ts) and what it printed. */
export interface HostProcess {
  proc: ChildProcess
  /** Every JSON line it printed so far (after "ready"). */
  lines: unknown[]
  /** Resolves with the first printed line that `match` accepts. */
  next(match?: (line: unknown) => boolean): Promise<unknown>
  /** Resolves once the process exited (with its signal, if one ended it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>
}

/** Starts `script` under tsx with the workspace sources, `args` on its argv and `env` added. */
export function startHost(script: string, args: string[], env: Record<string, string>): HostProcess {
  const proc = spawn(process.execPath, ['--conditions=@capsule/source', '--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: unknown[] = []
  const watchers: { match: (line: unknown) => boolean; resolve: (line: unknown) => void }[] = []
  let buffer = ''
  let stderr = ''
  proc.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString()
    let newline = buffer.indexOf('\n')
    while (newline >= 0) {
      const text = buffer.slice(0, newline)
      buffer = buffer.slice(newline + 1)
      newline = buffer.indexOf('\n')
      let line: unknown
      try {
        line = JSON.parse(text)
      } catch {
        continue
      }
      lines.push(line)
      for (const watcher of [...watchers]) {
        if (!watcher.match(line)) continue
        watchers.splice(watchers.indexOf(watcher), 1)
        watcher.resolve(line)
      }
    }
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => proc.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  )
  const next = (match: (line: unknown) => boolean = (line) => line !== 'ready') =>
    new Promise<unknown>((resolve, reject) => {
      const seen = lines.find(match)
      if (seen !== undefined) return resolve(seen)
      watchers.push({ match, resolve })
      void exited.then(({ code, signal, stderr }) =>
        reject(new Error(`host exited (${code ?? signal}) before printing what was awaited:\n${stderr}`)),
      )
    })
  return { proc, lines, next, exited }
}

/** Polls `condition` every 10 ms until it holds (or fails after `timeoutMs`). */
export async function until(condition: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** A temp dir with an empty effects file; `lines()` reads what the capability did. */
export function effectsDir(): { dir: string; file: string; lines(): string[]; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'capsule-durable-'))
  const file = path.join(dir, 'effects.txt')
  appendFileSync(file, '')
  return {
    dir,
    file,
    lines: () => readFileSync(file, 'utf8').split('\n').filter(Boolean),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/** A cell that appends `n` lines, sleeping before each call and before its end (time to kill it there). */
export function appendingCell(n: number, sleepSeconds = 0.3): string {
  return [
    'import time',
    'out = []',
    `for i in range(${n}):`,
    `    time.sleep(${sleepSeconds})`,
    '    out.append(append(f"line {i}"))',
    `time.sleep(${sleepSeconds})`,
    'out',
  ].join('\n')
}

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import path from 'node:path'

/** Lines of history kept. */
export const HISTORY_SIZE = 1000

/**
 * Where the REPL keeps its history: `$CAPSULE_REPL_HISTORY` (empty: none), else
 * `$XDG_STATE_HOME/capsule/repl_history`, else `~/.local/state/capsule/repl_history`.
 */
export function historyFilePath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const override = env.CAPSULE_REPL_HISTORY
  if (override !== undefined) return override === '' ? undefined : path.resolve(override)
  const stateHome = env.XDG_STATE_HOME || path.join(homedir(), '.local', 'state')
  return path.join(stateHome, 'capsule', 'repl_history')
}

/** Reads the history file, newest line first (readline's order); a missing file is an empty history. */
export function loadHistory(file: string | undefined): string[] {
  if (!file) return []
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).reverse().slice(0, HISTORY_SIZE)
  } catch {
    return []
  }
}

/** Writes the history (given newest first), oldest line first, readable by the user only. Best effort. */
export function saveHistory(file: string | undefined, history: readonly string[]): void {
  if (!file) return
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
    const lines = [...history].slice(0, HISTORY_SIZE).reverse()
    writeFileSync(file, lines.length ? `${lines.join('\n')}\n` : '', { mode: 0o600 })
  } catch {
    // History is a convenience: a read-only home must not break the REPL.
  }
}

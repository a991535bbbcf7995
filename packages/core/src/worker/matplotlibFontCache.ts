import { spawn } from 'node:child_process'
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { PythonInterpreterInfo } from './pythonInterpreter.js'

/** Where a sandboxed worker sees the host's font cache (read-only). */
export const MATPLOTLIB_FONT_CACHE_TARGET = '/etc/capsule/matplotlib'

/** The worker variable naming the font cache directory (read by `capsule_worker.mplcache`). */
export const MATPLOTLIB_FONT_CACHE_ENV = 'CAPSULE_MPL_FONT_CACHE'

// The trusted run: nothing but matplotlib's own font scan, in isolated mode, no user code.
const BUILD_PROGRAM = [
  'import importlib.util, sys',
  "if importlib.util.find_spec('matplotlib') is None: sys.exit(3)",
  'import matplotlib.font_manager',
].join('\n')

type CacheState =
  | { state: 'building'; done: Promise<void> }
  | { state: 'ready'; dir: string }
  | { state: 'none' }

const caches = new Map<string, CacheState>()
let cleanupRegistered = false
const madeDirs: string[] = []

/**
 * The host directory holding matplotlib's font list for `interpreter`, or null while it is being built
 * (or when the interpreter has no matplotlib). The first call starts the build in the background: one
 * run of the interpreter, as the host's user, that only imports `matplotlib.font_manager` with
 * `MPLCONFIGDIR` set to a fresh `mkdtemp` directory (0755, files 0644, so a dropped sandbox uid reads
 * them; removed when the process exits). Workers get a copy of their own (see the worker's `mplcache`).
 */
export function matplotlibFontCache(interpreter: Pick<PythonInterpreterInfo, 'executable'>): string | null {
  const known = caches.get(interpreter.executable)
  if (known === undefined) {
    caches.set(interpreter.executable, { state: 'building', done: build(interpreter) })
    return null
  }
  return known.state === 'ready' ? known.dir : null
}

/**
 * Waits until {@link matplotlibFontCache} has an answer for `interpreter` (building it if nobody asked
 * yet) and returns it: what a pool warming up or a bench awaits so the first sessions use the cache.
 */
export async function warmMatplotlibFontCache(
  interpreter: Pick<PythonInterpreterInfo, 'executable'>,
): Promise<string | null> {
  matplotlibFontCache(interpreter)
  const known = caches.get(interpreter.executable)
  if (known?.state === 'building') await known.done
  return matplotlibFontCache(interpreter)
}

function build(interpreter: Pick<PythonInterpreterInfo, 'executable'>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-mpl-'))
  remember(dir)
  return new Promise<void>((resolve) => {
    const finish = (ok: boolean) => {
      let ready = false
      if (ok) {
        try {
          const files = readdirSync(dir).filter((name) => /^fontlist-.*\.json$/.test(name))
          for (const name of readdirSync(dir)) chmodSync(join(dir, name), 0o644)
          chmodSync(dir, 0o755)
          ready = files.length > 0
        } catch {}
      }
      caches.set(interpreter.executable, ready ? { state: 'ready', dir } : { state: 'none' })
      resolve()
    }
    const child = spawn(interpreter.executable, ['-I', '-c', BUILD_PROGRAM], {
      cwd: dir,
      env: { PATH: '/usr/bin:/bin', MPLCONFIGDIR: dir, LANG: 'C.UTF-8' },
      stdio: 'ignore',
    })
    // Not a reason to keep the host alive.
    child.unref()
    child.once('error', () => finish(false))
    child.once('close', (code) => finish(code === 0))
  })
}

function remember(dir: string): void {
  madeDirs.push(dir)
  if (cleanupRegistered) return
  cleanupRegistered = true
  process.once('exit', () => {
    for (const made of madeDirs) rmSync(made, { recursive: true, force: true })
  })
}

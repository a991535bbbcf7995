import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { constants } from 'node:os'
import { killProcessTree } from './killProcessTree.js'

/** What to run and within which limits. The file is executed directly, never through a shell. */
export interface RunRequest {
  /** Absolute path of what is executed (the program, or bwrap). */
  file: string
  args: readonly string[]
  cwd: string
  /** The whole environment of the child; nothing is inherited. */
  env: Record<string, string>
  /** Marker value of CAPSULE_SHELL_RUN in `env`, for the process sweep. */
  runToken: string
  stdin?: Uint8Array | undefined
  timeoutMs: number
  maxOutputBytes: number
  signal: AbortSignal
  /** The host uid and gid to run as (a root host's sandbox user); spawn drops supplementary groups too. */
  uid?: number
  gid?: number
  /** Descriptors the child inherits as 3, 4, … (bwrap's seccomp program). The caller closes them. */
  extraFds?: readonly number[]
}

/** How a run ended. `killed` says why we killed it, if we did. */
export interface RunOutcome {
  /** Exit code, or minus the signal number when the process died from a signal (Python's convention). */
  returncode: number
  stdout: Buffer
  stderr: Buffer
  truncated: boolean
  killed: 'timeout' | 'abort' | 'output' | undefined
}

/** A fresh random marker for one run. */
export function newRunToken(): string {
  return randomBytes(12).toString('hex')
}

/** Time allowed for stdout/stderr to close after the process tree is dead (only an escaped writer delays it). */
const DRAIN_GRACE_MS = 200

/**
 * Runs one process with `shell: false` in its own session and process group, collects stdout and
 * stderr up to `maxOutputBytes` each, and kills the whole tree (see killProcessTree) on exit, timeout,
 * abort or output overflow. Rejects only when the process cannot be started.
 */
export function runCommand(request: RunRequest): Promise<RunOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(request.file, [...request.args], {
      cwd: request.cwd,
      env: request.env,
      shell: false,
      // Own session and process group, so the group can be killed as a whole.
      detached: true,
      stdio: [request.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...(request.extraFds ?? [])],
      uid: request.uid,
      gid: request.gid,
      windowsHide: true,
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    const sizes = { out: 0, err: 0 }
    let truncated = false
    let killed: RunOutcome['killed']
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
    let settled = false

    const killTree = (reason: RunOutcome['killed']) => {
      if (killed === undefined && exit === undefined) killed = reason
      if (child.pid !== undefined) killProcessTree(child.pid, request.runToken)
    }
    const collect = (chunks: Buffer[], key: 'out' | 'err') => (chunk: Buffer) => {
      const room = request.maxOutputBytes - sizes[key]
      if (chunk.length <= room) {
        chunks.push(chunk)
        sizes[key] += chunk.length
        return
      }
      // Over the cap: keep what fits, stop the flood at once; the result says it was truncated.
      if (room > 0) chunks.push(chunk.subarray(0, room))
      sizes[key] = request.maxOutputBytes
      if (!truncated) {
        truncated = true
        killTree('output')
      }
    }
    child.stdout!.on('data', collect(out, 'out'))
    child.stderr!.on('data', collect(err, 'err'))

    const timer = setTimeout(() => killTree('timeout'), request.timeoutMs)
    const onAbort = () => killTree('abort')
    request.signal.addEventListener('abort', onAbort, { once: true })
    const cleanup = () => {
      clearTimeout(timer)
      request.signal.removeEventListener('abort', onAbort)
    }

    child.on('error', (error) => {
      if (settled) return
      settled = true
      cleanup()
      if (child.pid !== undefined) killProcessTree(child.pid, request.runToken)
      reject(error)
    })
    let drainTimer: NodeJS.Timeout | undefined
    child.on('exit', (code, signal) => {
      exit = { code, signal }
      cleanup()
      // Whatever the command left behind (background children, setsid daemons) dies with it.
      killProcessTree(child.pid!, request.runToken)
      drainTimer = setTimeout(() => {
        child.stdout?.destroy()
        child.stderr?.destroy()
      }, DRAIN_GRACE_MS).unref()
    })
    child.on('close', () => {
      // The streams closed on their own: the grace timer has nothing left to do (no timer outlives a run).
      clearTimeout(drainTimer)
      if (settled) return
      settled = true
      const { code, signal } = exit ?? { code: null, signal: null }
      const returncode = code ?? (signal === null ? -1 : -(constants.signals[signal] ?? 1))
      resolve({ returncode, stdout: Buffer.concat(out), stderr: Buffer.concat(err), truncated, killed })
    })

    if (request.stdin !== undefined && child.stdin !== null) {
      // A command that exits without reading its input is not an error.
      child.stdin.on('error', () => {})
      child.stdin.end(request.stdin)
    }
    if (request.signal.aborted) killTree('abort')
  })
}

// Running ─exit + pipes drained→ Exited ─launcher cleaned up→ Gone
import { type ChildProcess, spawn } from 'node:child_process'
import { constants as osConstants } from 'node:os'
import type { Readable, Writable } from 'node:stream'
import { CapsuleError } from '../errors.js'
import { StreamFrameTransport } from '../transport/frameTransport.js'

/** The process to start: plain python, or python wrapped in a sandbox launcher. */
export interface WorkerCommand {
  command: string
  args: string[]
  env: Record<string, string>
  cwd?: string
  /** The host uid and gid to start as (a root host's sandboxed workers; spawn drops supplementary groups too). */
  uid?: number
  gid?: number
  /** Extra stdio entries after fd 4 (e.g. a seccomp program for bwrap), by fd number. */
  extraStdio?: Array<number | 'ignore' | 'pipe'>
  /** Runs right after spawn (close the host's copies of descriptors handed over, admit it to its cgroup). */
  afterSpawn?(child: ChildProcess): void
  /** Runs once the process is gone (remove its cgroup). */
  afterExit?(): Promise<void> | void
  /** The launcher (bubblewrap) reports the worker's death by signal N as exit code 128 + N. */
  signalsAsExitCodes?: boolean
  /** Names the limit a worker died of (an OOM kill, the CPU limit), when its exit says so. */
  classifyExit?(exit: { exitCode: number | null; signal: NodeJS.Signals | null }): CapsuleError | undefined
}

/** How a worker ended. */
export interface WorkerExit {
  exitCode: number | null
  signal: NodeJS.Signals | null
  /** Why the host ended it (protocol error, unresponsive, killed on purpose), if it did. */
  reason?: CapsuleError
  /** The last lines the worker wrote to its diagnostic stream. */
  stderrTail: string
}

/**
 * What a worker connection needs of the process under it. {@link WorkerProcess} is the real one; tests
 * put a scripted fake here, beside an in-memory transport.
 */
export interface WorkerPort {
  /** The process id as the host sees it (the sandbox launcher's, when sandboxed). */
  readonly pid: number | undefined
  /** Ends the process at once. `reason` (the first given) is reported as the exit's reason. Idempotent. */
  kill(reason?: CapsuleError): void
  /** Registers the listener of the process's end: called once, as soon as it is known. */
  onExit(listener: (exit: WorkerExit) => void): void
  /** Resolves once the process has exited, its pipes are drained and its launcher cleaned up. */
  exited(): Promise<WorkerExit>
}

const STDERR_TAIL_BYTES = 8 * 1024
// Frames written just before an exit may still be in the pipe: 'close' comes once they are read. A
// grandchild that kept a pipe open must not delay the exit for long.
const EXIT_DRAIN_MS = 250

/**
 * One worker process: spawns it with the protocol pipes on fds 3 and 4, keeps the tail of what it writes
 * before claiming fds 1 and 2, kills it, and reports exactly one exit. It reads no frame itself: its
 * {@link WorkerProcess.transport} is for the connection.
 */
export class WorkerProcess implements WorkerPort {
  /** The protocol pipes as a frame transport. */
  readonly transport: StreamFrameTransport
  readonly #command: WorkerCommand
  readonly #child: ChildProcess
  #stderrTail = ''
  #reason: CapsuleError | undefined
  #exit: WorkerExit | undefined
  #exitListener: ((exit: WorkerExit) => void) | undefined
  #cleanedUp: Promise<void> | undefined
  #exitWaiters: Array<(exit: WorkerExit) => void> = []

  /** Spawns the worker. Failing to start is reported as its exit, with a WORKER_START_FAILED reason. */
  constructor(command: WorkerCommand, maxFrameBytes: number) {
    this.#command = command
    this.#child = spawn(command.command, command.args, {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', ...(command.extraStdio ?? [])],
      env: command.env,
      cwd: command.cwd,
      uid: command.uid,
      gid: command.gid,
    })
    command.afterSpawn?.(this.#child)
    const [, stdout, stderr, toWorker, fromWorker] = this.#child.stdio as [
      unknown,
      Readable,
      Readable,
      Writable,
      Readable,
    ]
    // Before the worker claims fd 1 and 2, anything there is start-up diagnostics.
    for (const stream of [stdout, stderr]) {
      stream.setEncoding('utf8')
      stream.on('data', (chunk: string) => {
        this.#stderrTail = (this.#stderrTail + chunk).slice(-STDERR_TAIL_BYTES)
      })
    }
    this.transport = new StreamFrameTransport(fromWorker, toWorker, maxFrameBytes)
    this.#child.once('error', (error) => {
      this.kill(
        new CapsuleError('WORKER_START_FAILED', `cannot start the worker: ${error.message}`, {
          cause: error,
        }),
      )
      this.transport.close()
    })
    this.#child.once('close', () => this.#finishExit())
    this.#child.once('exit', () => setTimeout(() => this.#finishExit(), EXIT_DRAIN_MS).unref())
  }

  get pid(): number | undefined {
    return this.#child.pid
  }

  kill(reason?: CapsuleError): void {
    if (this.#reason === undefined && reason) this.#reason = reason
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL')
  }

  onExit(listener: (exit: WorkerExit) => void): void {
    this.#exitListener = listener
    if (this.#exit) listener(this.#exit)
  }

  exited(): Promise<WorkerExit> {
    const exit = this.#exit
    if (exit) return this.#cleanedUp!.then(() => exit)
    return new Promise((resolve) => this.#exitWaiters.push(resolve))
  }

  #finishExit(): void {
    if (this.#exit) return
    this.transport.close()
    const status = normaliseExit(
      this.#child.exitCode,
      this.#child.signalCode,
      this.#command.signalsAsExitCodes,
    )
    const exit: WorkerExit = {
      ...status,
      reason: this.#reason ?? this.#command.classifyExit?.(status),
      stderrTail: this.#stderrTail.trim(),
    }
    this.#exit = exit
    // The launcher's cleanup (its cgroup) finishes before anyone awaiting exited() goes on, so a closed
    // Capsule leaves nothing behind even when the host process ends right after.
    const cleanedUp = Promise.resolve()
      .then(() => this.#command.afterExit?.())
      .catch(() => {})
    this.#cleanedUp = cleanedUp
    this.#exitListener?.(exit)
    const waiters = this.#exitWaiters.splice(0)
    cleanedUp.then(() => {
      for (const waiter of waiters) waiter(exit)
    })
  }
}

function normaliseExit(
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  signalsAsExitCodes = false,
): { exitCode: number | null; signal: NodeJS.Signals | null } {
  if (signalsAsExitCodes && signal === null && exitCode !== null && exitCode > 128) {
    const name = Object.entries(osConstants.signals).find(([, number]) => number === exitCode - 128)?.[0]
    if (name) return { exitCode: null, signal: name as NodeJS.Signals }
  }
  return { exitCode, signal }
}

/** "exit code 3" / "signal SIGKILL". */
export function describeExit(exit: Pick<WorkerExit, 'exitCode' | 'signal'>): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.exitCode}`
}

// Starting ─hello+ready→ Ready ─shutdown()/kill()/exit→ Exited
import { type ChildProcess, spawn } from 'node:child_process'
import { constants as osConstants } from 'node:os'
import type { Readable, Writable } from 'node:stream'
import { CapsuleError, isCapsuleError } from '../errors.js'
import { type Codec, type CodecName, createCodec, decodeHello } from '../protocol/codec.js'
import type { FrameShapeLimits } from '../protocol/frameShape.js'
import {
  type HelloMessage,
  type HostMessage,
  PROTOCOL_VERSION,
  type WorkerMessage,
  workerMessageSchema,
} from '../protocol/messages.js'
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

/** How one worker process is started and watched. */
export interface WorkerProcessOptions {
  command: WorkerCommand
  maxFrameBytes: number
  /** Bounds on keys, items and depth of every frame, checked before it is decoded. */
  frameShape: FrameShapeLimits
  startTimeoutMs: number
  heartbeatIntervalMs: number
  heartbeatTimeoutMs: number
  /** The `init` message sent after `hello`. */
  init: Extract<HostMessage, { type: 'init' }>
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

/** Receives a ready worker's messages and its end. */
export interface WorkerProcessHandlers {
  /** One validated message; `frameBytes` is the size of the frame body it came in. */
  onMessage(message: WorkerMessage, frameBytes: number): void
  onExit(exit: WorkerExit): void
}

const STDERR_TAIL_BYTES = 8 * 1024

/**
 * One Python worker process: spawns it, runs the handshake, validates every frame it sends, answers
 * nothing itself (the session does), watches heartbeats and reports exactly one exit.
 */
export class WorkerProcess {
  readonly #options: WorkerProcessOptions
  readonly #child: ChildProcess
  readonly #transport: StreamFrameTransport
  #codec: Codec | undefined
  #hello: HelloMessage | undefined
  #handlers: WorkerProcessHandlers | undefined
  #state: 'starting' | 'ready' | 'exited' = 'starting'
  #stderrTail = ''
  #reason: CapsuleError | undefined
  #exit: WorkerExit | undefined
  #exitWaiters: Array<(exit: WorkerExit) => void> = []
  #cleanedUp: Promise<void> = Promise.resolve()
  #heartbeatTimer: NodeJS.Timeout | undefined
  #heartbeatSeq = 0
  #paused = false
  #lastHeartbeatAt: number
  readonly #spawnedAt = performance.now()
  #readyAt = 0
  #startup: { resolve: () => void; reject: (error: CapsuleError) => void } | undefined

  private constructor(options: WorkerProcessOptions) {
    this.#options = options
    const { command } = options
    this.#child = spawn(command.command, command.args, {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', ...(command.extraStdio ?? [])],
      env: command.env,
      cwd: command.cwd,
      uid: command.uid,
      gid: command.gid,
    })
    command.afterSpawn?.(this.#child)
    this.#lastHeartbeatAt = Date.now()
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
    this.#transport = new StreamFrameTransport(fromWorker, toWorker, options.maxFrameBytes)
    this.#transport.start({
      onFrame: (body) => this.#onFrame(body),
      onClose: (error) => this.#onTransportClose(error),
    })
    this.#child.once('error', (error) =>
      this.#fail(
        new CapsuleError('WORKER_START_FAILED', `cannot start the worker: ${error.message}`, {
          cause: error,
        }),
      ),
    )
    this.#child.once('close', () => this.#finishExit())
    this.#child.once('exit', () => this.#onChildExit())
  }

  /**
   * Spawns a worker and completes the handshake. Rejects with WORKER_START_FAILED (or PROTOCOL_ERROR /
   * PROTOCOL_MISMATCH) when the worker does not become ready within `startTimeoutMs`.
   */
  static async start(options: WorkerProcessOptions, handlers: WorkerProcessHandlers): Promise<WorkerProcess> {
    const worker = new WorkerProcess(options)
    await worker.#waitReady(handlers)
    return worker
  }

  /** The worker's process id (the sandbox launcher's, when sandboxed). */
  get pid(): number | undefined {
    return this.#child.pid
  }

  /** The handshake facts: python version, codec, pid inside the worker. */
  get hello(): HelloMessage {
    return this.#hello!
  }

  /** The codec in use. */
  get codec(): CodecName {
    return this.#codec?.name ?? 'json'
  }

  /** Milliseconds from spawn to `ready`. */
  get startupMs(): number {
    return this.#readyAt - this.#spawnedAt
  }

  /** Epoch ms of the last heartbeat answer (or of start). */
  get lastHeartbeatAt(): number {
    return this.#lastHeartbeatAt
  }

  /** Whether the worker can take messages. */
  get isReady(): boolean {
    return this.#state === 'ready'
  }

  /** Encoded size of a message, for callers that must stay under the frame limit. */
  encodedSize(message: HostMessage): number {
    return this.#codec!.encode(message).byteLength
  }

  /**
   * Sends a message. Throws LIMIT_EXCEEDED when it would exceed the frame limit; returns false when
   * the worker is gone.
   */
  send(message: HostMessage): boolean {
    if (this.#state === 'exited' || !this.#codec) return false
    const body = this.#codec.encode(message)
    if (body.byteLength > this.#options.maxFrameBytes) {
      throw new CapsuleError(
        'LIMIT_EXCEEDED',
        `a ${message.type} message of ${body.byteLength} bytes exceeds the frame limit of ${this.#options.maxFrameBytes} bytes`,
        { details: { frameBytes: body.byteLength, maxFrameBytes: this.#options.maxFrameBytes } },
      )
    }
    return this.#transport.send(body)
  }

  /**
   * Stops reading the worker's frames (the host is saturated); the worker blocks on its next write.
   * Heartbeats are not judged while paused: silence is then the host's doing.
   */
  pauseReading(): void {
    if (this.#paused) return
    this.#paused = true
    this.#transport.pause()
  }

  /** Reads again after {@link pauseReading}. */
  resumeReading(): void {
    if (!this.#paused) return
    this.#paused = false
    this.#lastHeartbeatAt = Date.now()
    this.#transport.resume()
  }

  /** Whether reading is paused. */
  get isPaused(): boolean {
    return this.#paused
  }

  /** Kills the worker at once (SIGKILL). `reason` is reported as the exit's reason. Idempotent. */
  kill(reason?: CapsuleError): void {
    if (this.#reason === undefined && reason) this.#reason = reason
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL')
  }

  /** Asks the worker to exit, and kills it if it has not within `graceMs`. Resolves with its exit. */
  async shutdown(graceMs = 1000): Promise<WorkerExit> {
    if (this.#exit) return this.#exit
    this.send({ type: 'shutdown' })
    const timer = setTimeout(() => this.kill(), graceMs)
    timer.unref()
    const exit = await this.exited()
    clearTimeout(timer)
    return exit
  }

  /** Resolves once the process has exited, its pipes are drained and its launcher cleaned up. */
  exited(): Promise<WorkerExit> {
    const exit = this.#exit
    if (exit) return this.#cleanedUp.then(() => exit)
    return new Promise((resolve) => this.#exitWaiters.push(resolve))
  }

  #waitReady(handlers: WorkerProcessHandlers): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#fail(
          new CapsuleError(
            'WORKER_START_FAILED',
            `the worker did not become ready within ${this.#options.startTimeoutMs} ms`,
          ),
        )
      }, this.#options.startTimeoutMs)
      this.#startup = {
        resolve: () => {
          clearTimeout(timer)
          this.#handlers = handlers
          this.#startHeartbeats()
          resolve()
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      }
    })
  }

  // Every frame enters here, and nothing thrown while handling it escapes: a throw anywhere below (decoding,
  // the schema, the session's handling) ends this worker, never the host.
  #onFrame(body: Buffer): void {
    try {
      this.#handleFrame(body)
    } catch (cause) {
      this.#fail(
        isCapsuleError(cause) && (cause.code === 'PROTOCOL_ERROR' || cause.code === 'LIMIT_EXCEEDED')
          ? cause
          : new CapsuleError(
              'PROTOCOL_ERROR',
              `handling a frame from the worker failed: ${cause instanceof Error ? cause.message : String(cause)}`,
              { cause },
            ),
      )
    }
  }

  #handleFrame(body: Buffer): void {
    let decoded: unknown
    try {
      if (!this.#codec) {
        const hello = decodeHello(body, this.#options.frameShape)
        this.#codec = createCodec(hello.codec, this.#options.frameShape)
        decoded = hello.message
      } else {
        decoded = this.#codec.decode(body)
      }
    } catch (cause) {
      if (isCapsuleError(cause, 'LIMIT_EXCEEDED')) throw cause
      throw new CapsuleError(
        'PROTOCOL_ERROR',
        `undecodable frame from the worker: ${(cause as Error).message}`,
        { cause },
      )
    }
    const parsed = workerMessageSchema.safeParse(decoded)
    if (!parsed.success) {
      const type =
        typeof decoded === 'object' && decoded !== null ? (decoded as { type?: unknown }).type : undefined
      throw new CapsuleError(
        'PROTOCOL_ERROR',
        `invalid ${typeof type === 'string' ? JSON.stringify(type.slice(0, 64)) : ''} message from the worker: ${parsed.error.issues[0]?.message ?? 'bad shape'}`.replace(
          '  ',
          ' ',
        ),
        {
          details: {
            type: typeof type === 'string' ? type.slice(0, 64) : undefined,
            issues: parsed.error.issues.slice(0, 5),
          },
        },
      )
    }
    this.#onMessage(parsed.data, body.byteLength)
  }

  #onMessage(message: WorkerMessage, frameBytes: number): void {
    if (message.type === 'heartbeat') {
      this.#lastHeartbeatAt = Date.now()
      return
    }
    if (this.#state === 'starting') {
      if (!this.#hello) {
        if (message.type !== 'hello') {
          this.#fail(outOfOrder(message.type, 'hello'))
          return
        }
        if (message.protocol !== PROTOCOL_VERSION) {
          this.#fail(
            new CapsuleError(
              'PROTOCOL_MISMATCH',
              `the worker speaks protocol ${message.protocol}; this host speaks ${PROTOCOL_VERSION}`,
            ),
          )
          return
        }
        this.#hello = message
        this.send(this.#options.init)
        return
      }
      if (message.type !== 'ready') {
        this.#fail(outOfOrder(message.type, 'ready'))
        return
      }
      this.#state = 'ready'
      this.#readyAt = performance.now()
      this.#startup?.resolve()
      return
    }
    if (message.type === 'hello' || message.type === 'ready') {
      this.#fail(outOfOrder(message.type))
      return
    }
    this.#handlers?.onMessage(message, frameBytes)
  }

  #startHeartbeats(): void {
    const { heartbeatIntervalMs, heartbeatTimeoutMs } = this.#options
    if (heartbeatIntervalMs <= 0) return
    this.#heartbeatTimer = setInterval(() => {
      if (this.#paused) return
      if (Date.now() - this.#lastHeartbeatAt > heartbeatTimeoutMs) {
        this.#fail(
          new CapsuleError(
            'WORKER_UNRESPONSIVE',
            `the worker has not answered a heartbeat for ${heartbeatTimeoutMs} ms`,
            {
              details: { heartbeatTimeoutMs },
            },
          ),
        )
        return
      }
      this.#heartbeatSeq += 1
      this.send({ type: 'heartbeat', seq: this.#heartbeatSeq })
    }, heartbeatIntervalMs)
    this.#heartbeatTimer.unref()
  }

  #fail(reason: CapsuleError): void {
    if (this.#state === 'exited') return
    this.kill(reason)
    this.#transport.close()
  }

  #onTransportClose(error?: CapsuleError): void {
    if (error) this.#fail(error)
  }

  #onChildExit(): void {
    // Frames the worker wrote just before exiting may still be in the pipe: 'close' comes once they are
    // read. A grandchild that kept a pipe open must not delay the exit for long.
    setTimeout(() => this.#finishExit(), 250).unref()
  }

  #finishExit(): void {
    if (this.#state === 'exited') return
    const wasStarting = this.#state === 'starting'
    this.#state = 'exited'
    if (this.#heartbeatTimer) clearInterval(this.#heartbeatTimer)
    this.#transport.close()
    const status = normaliseExit(
      this.#child.exitCode,
      this.#child.signalCode,
      this.#options.command.signalsAsExitCodes,
    )
    const exit: WorkerExit = {
      ...status,
      reason: this.#reason ?? this.#options.command.classifyExit?.(status),
      stderrTail: this.#stderrTail.trim(),
    }
    this.#exit = exit
    // The launcher's cleanup (its cgroup) finishes before anyone awaiting exited() goes on, so a closed
    // Capsule leaves nothing behind even when the host process ends right after.
    const cleanedUp = Promise.resolve()
      .then(() => this.#options.command.afterExit?.())
      .catch(() => {})
    this.#cleanedUp = cleanedUp
    if (wasStarting) {
      const reason =
        exit.reason ??
        new CapsuleError(
          'WORKER_START_FAILED',
          `the worker exited during start-up (${describeExit(exit)})${exit.stderrTail ? `: ${exit.stderrTail.slice(-1000)}` : ''}`,
          {
            details: { exitCode: exit.exitCode, signal: exit.signal },
          },
        )
      cleanedUp.then(() => this.#startup?.reject(reason))
    } else {
      this.#handlers?.onExit(exit)
    }
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

function outOfOrder(type: string, expected?: string): CapsuleError {
  return new CapsuleError(
    'PROTOCOL_ERROR',
    expected
      ? `the worker sent ${JSON.stringify(type)} where ${JSON.stringify(expected)} was expected`
      : `the worker sent ${JSON.stringify(type)} out of order`,
    { details: { type } },
  )
}

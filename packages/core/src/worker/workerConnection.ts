// Handshake ─hello→ Init sent ─ready→ Ready ─port exit→ Closed
import { CapsuleError, isCapsuleError } from '../errors.js'
import {
  type Codec,
  type CodecName,
  createCodec,
  decodeHello,
  type FrameShapeLimits,
} from '../protocol/codec.js'
import {
  type HelloMessage,
  type HostMessage,
  PROTOCOL_VERSION,
  parseWorkerMessage,
  type WorkerMessage,
} from '../protocol/messages.js'
import type { FrameTransport, SendOptions } from '../transport/frameTransport.js'
import type { Clock } from '../util/clock.js'
import { describeExit, type WorkerExit, type WorkerPort } from './workerProcess.js'

// Nobody waits on a heartbeat's answer: no reason to keep the loop awake for it.
const UNAWAITED: SendOptions = { awaited: false }

/** How one worker connection runs its handshake and watches its worker. */
export interface WorkerConnectionOptions {
  maxFrameBytes: number
  /** Bounds on keys, items and depth of every frame, checked before it is decoded. */
  frameShape: FrameShapeLimits
  startTimeoutMs: number
  heartbeatIntervalMs: number
  heartbeatTimeoutMs: number
  /** The `init` message sent after `hello`. */
  init: Extract<HostMessage, { type: 'init' }>
  /** Heartbeats and the start deadline run on it. */
  clock: Clock
}

/** Receives a ready worker's messages and its end. */
export interface WorkerConnectionHandlers {
  /** One validated message; `frameBytes` is the size of the frame body it came in. */
  onMessage(message: WorkerMessage, frameBytes: number): void
  onExit(exit: WorkerExit): void
}

/**
 * The host's end of one worker's protocol: the handshake (hello → init → ready, which picks the codec),
 * decoding and checking every frame (hot message types by hand, the rest by schema), heartbeats, and
 * sending. It answers nothing itself; the session does. Under it sit a {@link WorkerPort} (the process)
 * and a {@link FrameTransport} (its pipes): a scripted worker over an in-memory transport drops in there.
 */
export class WorkerConnection {
  readonly #port: WorkerPort
  readonly #transport: FrameTransport
  readonly #options: WorkerConnectionOptions
  readonly #clock: Clock
  #codec: Codec | undefined
  #hello: HelloMessage | undefined
  #handlers: WorkerConnectionHandlers | undefined
  #state: 'starting' | 'ready' | 'closed' = 'starting'
  #heartbeatTimer: unknown
  #heartbeatSeq = 0
  #paused = false
  #lastHeartbeatAt: number
  readonly #openedAt = performance.now()
  #readyAt = 0
  #startup: { resolve: () => void; reject: (error: CapsuleError) => void } | undefined

  private constructor(port: WorkerPort, transport: FrameTransport, options: WorkerConnectionOptions) {
    this.#port = port
    this.#transport = transport
    this.#options = options
    this.#clock = options.clock
    this.#lastHeartbeatAt = options.clock.now()
  }

  /**
   * Runs the handshake over `transport` with the worker behind `port`. Rejects with WORKER_START_FAILED
   * (or PROTOCOL_ERROR / PROTOCOL_MISMATCH) when the worker is not ready within `startTimeoutMs`.
   */
  static open(
    port: WorkerPort,
    transport: FrameTransport,
    options: WorkerConnectionOptions,
    handlers: WorkerConnectionHandlers,
  ): Promise<WorkerConnection> {
    const connection = new WorkerConnection(port, transport, options)
    return connection.#open(handlers).then(() => connection)
  }

  /** The worker's process id (the sandbox launcher's, when sandboxed). */
  get pid(): number | undefined {
    return this.#port.pid
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
    return this.#readyAt - this.#openedAt
  }

  /** Epoch ms of the last heartbeat answer (or of start). */
  get lastHeartbeatAt(): number {
    return this.#lastHeartbeatAt
  }

  /** Whether the worker can take messages. */
  get isReady(): boolean {
    return this.#state === 'ready'
  }

  /** Whether reading is paused. */
  get isPaused(): boolean {
    return this.#paused
  }

  /**
   * Sends a message. Throws LIMIT_EXCEEDED when it would exceed the frame limit; returns false when
   * the worker is gone.
   */
  send(message: HostMessage): boolean {
    if (this.#state === 'closed' || !this.#codec) return false
    // The transport copies the body into its frame before anything else encodes.
    const body = this.#codec.encodeShared(message)
    if (body.byteLength > this.#options.maxFrameBytes) {
      throw new CapsuleError(
        'LIMIT_EXCEEDED',
        `a ${message.type} message of ${body.byteLength} bytes exceeds the frame limit of ${this.#options.maxFrameBytes} bytes`,
        { details: { frameBytes: body.byteLength, maxFrameBytes: this.#options.maxFrameBytes } },
      )
    }
    return this.#transport.send(body, message.type === 'heartbeat' ? UNAWAITED : undefined)
  }

  /** Resolves once the frames sent so far have mostly left for the worker (see FrameTransport.drained). */
  drained(): Promise<void> {
    return this.#transport.drained?.() ?? Promise.resolve()
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
    this.#lastHeartbeatAt = this.#clock.now()
    this.#transport.resume()
  }

  /** Kills the worker at once. `reason` is reported as the exit's reason. Idempotent. */
  kill(reason?: CapsuleError): void {
    this.#port.kill(reason)
  }

  /** Asks the worker to exit, and kills it if it has not within `graceMs`. Resolves with its exit. */
  async shutdown(graceMs = 1000): Promise<WorkerExit> {
    if (this.#state !== 'closed') this.send({ type: 'shutdown' })
    const timer = this.#clock.setTimeout(() => this.kill(), graceMs)
    const exit = await this.exited()
    this.#clock.clearTimeout(timer)
    return exit
  }

  /** Resolves once the process has exited, its pipes are drained and its launcher cleaned up. */
  exited(): Promise<WorkerExit> {
    return this.#port.exited()
  }

  #open(handlers: WorkerConnectionHandlers): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#fail(
          new CapsuleError(
            'WORKER_START_FAILED',
            `the worker did not become ready within ${this.#options.startTimeoutMs} ms`,
          ),
        )
      }, this.#options.startTimeoutMs)
      this.#startup = {
        resolve: () => {
          this.#clock.clearTimeout(timer)
          this.#handlers = handlers
          this.#startHeartbeats()
          resolve()
        },
        reject: (error) => {
          this.#clock.clearTimeout(timer)
          reject(error)
        },
      }
      this.#port.onExit((exit) => this.#onExit(exit))
      this.#transport.start({
        onFrame: (body) => this.#onFrame(body),
        onClose: (error) => {
          if (error) this.#fail(error)
        },
      })
    })
  }

  // Every frame enters here, and nothing thrown while handling it escapes: a throw anywhere below (decoding,
  // the checks, the session's handling) ends this worker, never the host.
  #onFrame(body: Uint8Array): void {
    try {
      this.#onMessage(this.#decode(body), body.byteLength)
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

  #decode(body: Uint8Array): WorkerMessage {
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
    return parseWorkerMessage(decoded)
  }

  #onMessage(message: WorkerMessage, frameBytes: number): void {
    if (message.type === 'heartbeat') {
      this.#lastHeartbeatAt = this.#clock.now()
      return
    }
    if (this.#state === 'ready') {
      if (message.type === 'hello' || message.type === 'ready') throw outOfOrder(message.type)
      this.#handlers?.onMessage(message, frameBytes)
      return
    }
    if (this.#state !== 'starting') return
    if (!this.#hello) {
      if (message.type !== 'hello') throw outOfOrder(message.type, 'hello')
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
    if (message.type !== 'ready') throw outOfOrder(message.type, 'ready')
    this.#state = 'ready'
    this.#readyAt = performance.now()
    this.#startup?.resolve()
  }

  #startHeartbeats(): void {
    const { heartbeatIntervalMs, heartbeatTimeoutMs } = this.#options
    if (heartbeatIntervalMs <= 0) return
    const beat = (): void => {
      this.#heartbeatTimer = undefined
      if (this.#state !== 'ready') return
      if (!this.#paused && this.#clock.now() - this.#lastHeartbeatAt > heartbeatTimeoutMs) {
        this.#fail(
          new CapsuleError(
            'WORKER_UNRESPONSIVE',
            `the worker has not answered a heartbeat for ${heartbeatTimeoutMs} ms`,
            { details: { heartbeatTimeoutMs } },
          ),
        )
        return
      }
      if (!this.#paused) {
        this.#heartbeatSeq += 1
        this.send({ type: 'heartbeat', seq: this.#heartbeatSeq })
      }
      this.#heartbeatTimer = this.#clock.setTimeout(beat, heartbeatIntervalMs)
    }
    this.#heartbeatTimer = this.#clock.setTimeout(beat, heartbeatIntervalMs)
  }

  #fail(reason: CapsuleError): void {
    if (this.#state === 'closed') return
    this.#port.kill(reason)
    this.#transport.close()
  }

  #onExit(exit: WorkerExit): void {
    if (this.#state === 'closed') return
    const wasStarting = this.#state === 'starting'
    this.#state = 'closed'
    if (this.#heartbeatTimer !== undefined) this.#clock.clearTimeout(this.#heartbeatTimer)
    this.#transport.close()
    if (!wasStarting) {
      this.#handlers?.onExit(exit)
      return
    }
    const reason =
      exit.reason ??
      new CapsuleError(
        'WORKER_START_FAILED',
        `the worker exited during start-up (${describeExit(exit)})${exit.stderrTail ? `: ${exit.stderrTail.slice(-1000)}` : ''}`,
        { details: { exitCode: exit.exitCode, signal: exit.signal } },
      )
    this.#port.exited().then(() => this.#startup?.reject(reason))
  }
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

// Starting ─ready→ Idle ⇄ Busy ─worker exit→ Dead ─execute()/restart()→ Starting;  any ─close()→ Closing → Closed
import type { CallRouter, CallTable } from '../calls/callRouter.js'
import { CapsuleError, isCapsuleError } from '../errors.js'
import type { CapabilitySpec, HostMessage, SnapshotMessage, WorkerMessage } from '../protocol/messages.js'
import type { Clock } from '../util/clock.js'
import { exitSummary } from '../worker/exitSummary.js'
import type { WorkerConnection } from '../worker/workerConnection.js'
import { describeExit, type WorkerExit } from '../worker/workerProcess.js'
import type { Execution, ExecutionTimeoutDetails } from './execution.js'
import type { ExecutionEnd, ExecutionQueue } from './executionQueue.js'
import type { Limits } from './limits.js'
import type { SessionState, StartWorker } from './sessionTypes.js'
import type { CheckpointCapture, RestoreReport, SnapshotExchange } from './snapshotExchange.js'

/** What a supervisor is built from. */
export interface WorkerSupervisorDeps {
  sessionId: string
  limits: Limits
  clock: Clock
  capabilities: CapabilitySpec[]
  startWorker: StartWorker
  queue: ExecutionQueue
  router: CallRouter
  /** The worker died outside an execution's control. */
  onWorkerLost(): void
  /** The session has closed. */
  onClosed(): void
}

/** How a worker's work comes to an end; {@link WorkerSupervisor} settles all of it in one place. */
type Ending =
  | { kind: 'exit'; exit: WorkerExit }
  | { kind: 'restart' }
  | { kind: 'close' }
  | { kind: 'destroy'; error: CapsuleError }

const CALLS_END: Record<Ending['kind'], string> = {
  exit: 'the worker is gone',
  restart: 'the session was restarted',
  close: 'the session is closed',
  destroy: 'the session was destroyed',
}

const noop = (): void => {}

/**
 * Keeps a session's worker: starts and replaces it, runs the queue's executions on it one at a time (with
 * their deadlines and the interrupt's grace period), hands its frames to the queue and the call router,
 * and ends everything a worker had open in {@link WorkerSupervisor.#end} — the one place for worker exit,
 * restart, close and destroy, as MCP's `Protocol._onclose` is for a connection.
 */
export class WorkerSupervisor {
  readonly #deps: WorkerSupervisorDeps
  readonly #queue: ExecutionQueue
  readonly #router: CallRouter
  #state: SessionState = 'starting'
  #worker: WorkerConnection | undefined
  #table: CallTable | undefined
  #starting: Promise<void> | undefined
  #restarts = 0
  #graceTimer: unknown
  #closeWaiter: (() => void) | undefined
  /** A checkpoint or restore under way: executions wait until it ends. */
  #snapshot: SnapshotExchange<CheckpointCapture | RestoreReport> | undefined

  constructor(deps: WorkerSupervisorDeps) {
    this.#deps = deps
    this.#queue = deps.queue
    this.#router = deps.router
  }

  get state(): SessionState {
    return this.#state
  }

  /** The current worker, while there is one. */
  get worker(): WorkerConnection | undefined {
    return this.#worker
  }

  /** The current worker's open calls. */
  get calls(): CallTable | undefined {
    return this.#table
  }

  get restarts(): number {
    return this.#restarts
  }

  /** Starts the first worker. */
  start(): Promise<void> {
    return this.#startWorker()
  }

  /** Starts the next queued execution when the worker is idle (reviving a dead worker first). */
  pump(): void {
    const queue = this.#queue
    if (this.#snapshot || queue.current || queue.queued === 0) return
    if (this.#state === 'dead') {
      this.#restarts += 1
      this.#startWorker().catch(noop)
      return
    }
    if (this.#state !== 'idle' && this.#state !== 'closing') return
    const worker = this.#worker
    if (!worker?.isReady) return
    const execution = queue.startNext((expired, details) => this.timeOut(expired, details))!
    if (this.#state === 'idle') this.#state = 'busy'
    try {
      worker.send({ type: 'execute', id: execution.protocolId, code: execution.code })
    } catch (error) {
      if (this.#state === 'busy') this.#state = 'idle'
      queue.fail(isCapsuleError(error) ? error : new CapsuleError('INVALID_ARGUMENT', String(error)), {
        current: true,
        queued: false,
      })
      this.pump()
    }
  }

  /**
   * Runs a checkpoint or restore exchange on the idle worker, between cells; queued executions wait for it.
   * Rejects at once with SESSION_BUSY when an execution runs or the worker is not ready.
   */
  snapshot<T extends CheckpointCapture | RestoreReport>(exchange: SnapshotExchange<T>): Promise<T> {
    const worker = this.#worker
    if (this.#snapshot || this.#queue.current || this.#state !== 'idle' || !worker?.isReady) {
      exchange.fail(new CapsuleError('SESSION_BUSY', 'a checkpoint or restore needs an idle session'))
      return exchange.result
    }
    this.#snapshot = exchange as unknown as SnapshotExchange<CheckpointCapture | RestoreReport>
    this.#state = 'busy'
    try {
      for (const frame of exchange.frames()) worker.send(frame)
    } catch (error) {
      exchange.fail(isCapsuleError(error) ? error : new CapsuleError('PROTOCOL_ERROR', String(error)))
    }
    const done = (): void => {
      if (this.#snapshot !== (exchange as unknown)) return
      this.#snapshot = undefined
      if (this.#state === 'busy') this.#state = 'idle'
      this.pump()
    }
    exchange.result.then(done, done)
    return exchange.result
  }

  /** Interrupts `execution`: its calls are cancelled, Python sees KeyboardInterrupt, and it is killed after the grace period. */
  interrupt(execution: Execution): void {
    if (execution.done) return
    execution.interrupted = true
    if (this.#table) this.#router.cancel(this.#table, 'the execution was interrupted', execution)
    this.#worker?.send({ type: 'interrupt', id: execution.protocolId })
    if (this.#graceTimer !== undefined) return
    const graceMs = this.#deps.limits.interruptGraceMs
    this.#graceTimer = this.#deps.clock.setTimeout(() => {
      this.#graceTimer = undefined
      if (this.#queue.current !== execution || execution.done) return
      // The code ignored the interrupt: kill the worker; its exit ends the execution as lost.
      this.#worker?.kill(
        new CapsuleError('CANCELLED', `the execution ignored the interrupt for ${graceMs} ms and was killed`),
      )
    }, graceMs)
  }

  /**
   * A deadline passed: the running `execution` is interrupted and ends `timeout`, saying whether it
   * waited for input(). False when `execution` is not the one running.
   */
  timeOut(execution: Execution, details: ExecutionTimeoutDetails): boolean {
    if (this.#queue.current !== execution || execution.done) return false
    if (execution.timedOut) return true
    const waiting = this.#router.waitingInput(this.#table, execution)
    execution.timedOut = true
    execution.timeoutDetails = waiting
      ? { ...details, waitingFor: 'input', prompt: waiting.input?.prompt ?? '' }
      : details
    this.interrupt(execution)
    return true
  }

  /** Replaces the worker with a fresh one; what the old one had open is settled first. */
  async restart(): Promise<void> {
    const worker = this.#worker
    if (worker) {
      const table = this.#table
      this.#worker = undefined
      this.#table = undefined
      // Not idle: the queue waits for the new worker instead of reviving the old one.
      this.#state = 'starting'
      this.#end(table, { kind: 'restart' })
      worker.kill(new CapsuleError('CANCELLED', 'the session was restarted'))
      await worker.exited()
    }
    this.#restarts += 1
    await this.#startWorker()
  }

  /** Lets the running and queued executions finish, then shuts the worker down. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return
    this.#state = 'closing'
    if (!this.#queue.empty || this.#starting) {
      await new Promise<void>((resolve) => {
        this.#closeWaiter = resolve
        this.#maybeFinishClose()
      })
    }
    const worker = this.#worker
    const table = this.#table
    this.#worker = undefined
    this.#table = undefined
    this.#end(table, { kind: 'close' })
    if (worker) await worker.shutdown(1000)
    this.#closed()
  }

  /** Rejects everything pending with `error` and kills the worker at once. */
  destroy(error: CapsuleError): void {
    if (this.#state === 'closed') return
    this.#state = 'closing'
    const worker = this.#worker
    const table = this.#table
    this.#worker = undefined
    this.#table = undefined
    this.#end(table, { kind: 'destroy', error })
    worker?.kill(error)
    this.#closed()
  }

  // ── the one place where a worker's work ends ───────────────────────────────────────────────

  #end(table: CallTable | undefined, ending: Ending): void {
    // Whatever else happens, no call the worker had open stays open, and no checkpoint waits on it.
    if (table) this.#router.cancel(table, CALLS_END[ending.kind])
    this.#snapshot?.fail(
      ending.kind === 'destroy' ? ending.error : new CapsuleError('SESSION_CLOSED', CALLS_END[ending.kind]),
    )
    switch (ending.kind) {
      case 'close':
        return
      case 'restart':
        if (this.#queue.current) {
          this.#finish(null, 'the session was restarted; the worker was replaced, and its state is lost')
        }
        return
      case 'destroy':
        this.#clearGrace()
        this.#queue.fail(ending.error, { current: true, queued: true })
        return
      case 'exit':
        this.#lost(ending.exit)
    }
  }

  // The current worker died (restart, close and destroy detach theirs first).
  #lost(exit: WorkerExit): void {
    this.#worker = undefined
    this.#table = undefined
    const execution = this.#queue.current
    const reason = exit.reason
    // Killed on purpose after an ignored interrupt: the execution ends as interrupted, state lost.
    if (execution?.interrupted && (!reason || reason.code === 'CANCELLED')) {
      this.#finish(
        null,
        'the code ignored the interrupt; the worker was killed and restarted, and its state is lost',
      )
      if (this.#state !== 'closing' && this.#state !== 'closed') {
        this.#restarts += 1
        this.#state = 'starting'
        this.#startWorker().catch(noop)
      }
      return
    }
    const error =
      reason && reason.code !== 'CANCELLED'
        ? reason
        : new CapsuleError(
            'WORKER_EXITED',
            `the Python worker exited (${describeExit(exit)})${exit.stderrTail ? `: ${exitSummary(exit.stderrTail)}` : ''}`,
            { details: { exitCode: exit.exitCode, signal: exit.signal, stderrTail: exit.stderrTail } },
          )
    this.#clearGrace()
    this.#queue.fail(error, { current: true, queued: true })
    if (this.#state !== 'closing' && this.#state !== 'closed') this.#state = 'dead'
    this.#maybeFinishClose()
    this.#deps.onWorkerLost()
  }

  // ── worker messages ─────────────────────────────────────────────────────────────────────────

  #onMessage(worker: WorkerConnection, table: CallTable, message: WorkerMessage, frameBytes: number): void {
    if (worker !== this.#worker) return
    switch (message.type) {
      case 'call': {
        // The frame's `exec` is a claim by untrusted code: attribute the call only if it names the running one.
        const current = this.#queue.current
        const execution = message.exec !== null && current?.protocolId === message.exec ? current : null
        this.#router.onCall(table, message, frameBytes, execution)
        return
      }
      case 'call_cancel':
        this.#router.onCancel(table, message.id)
        return
      case 'checkpoint_chunk':
      case 'checkpoint_done':
      case 'checkpoint_failed':
      case 'restore_done':
      case 'restore_failed':
        this.#onSnapshot(worker, message)
        return
      case 'stream':
      case 'display':
      case 'result':
      case 'error':
        this.#onOutput(worker, message, frameBytes)
        return
      default:
        return
    }
  }

  #onSnapshot(worker: WorkerConnection, message: SnapshotMessage): void {
    const exchange = this.#snapshot
    try {
      if (!exchange) throw new CapsuleError('PROTOCOL_ERROR', `the worker sent ${message.type} unasked`)
      exchange.onMessage(message)
    } catch (error) {
      const failure = isCapsuleError(error) ? error : new CapsuleError('PROTOCOL_ERROR', String(error))
      exchange?.fail(failure)
      worker.kill(failure)
    }
  }

  #onOutput(
    worker: WorkerConnection,
    message: Extract<WorkerMessage, { type: 'stream' | 'display' | 'result' | 'error' }>,
    frameBytes: number,
  ): void {
    const execution = this.#queue.current
    if (!execution || execution.protocolId !== message.id) {
      worker.kill(
        new CapsuleError(
          'PROTOCOL_ERROR',
          `the worker sent ${message.type} for execution ${message.id}, which is not running`,
          { details: { type: message.type, id: message.id } },
        ),
      )
      return
    }
    switch (message.type) {
      case 'stream':
        execution.pushStream(message.name, message.text)
        return
      case 'display':
        execution.pushDisplay(message.data, message.metadata ?? {}, frameBytes)
        return
      case 'result':
        this.#finish({
          executionCount: message.count,
          status: 'ok',
          value: message.value,
          error: null,
          outputTruncatedBytes: message.truncated ?? 0,
          stateLost: false,
        })
        return
      case 'error':
        this.#finish({
          executionCount: message.count,
          status: execution.interrupted && message.ename === 'KeyboardInterrupt' ? 'interrupted' : 'error',
          value: null,
          error: { ename: message.ename, evalue: message.evalue, traceback: message.traceback },
          outputTruncatedBytes: message.truncated ?? 0,
          stateLost: false,
        })
    }
  }

  // Ends the running execution (`fields`, or lost with `lostBecause`), then starts the next.
  #finish(fields: ExecutionEnd | null, lostBecause?: string): void {
    this.#clearGrace()
    if (fields) this.#queue.finishCurrent(fields)
    else this.#queue.finishLost(lostBecause!)
    if (this.#state === 'busy') this.#state = 'idle'
    this.pump()
    this.#maybeFinishClose()
  }

  // ── worker lifecycle ────────────────────────────────────────────────────────────────────────

  #startWorker(): Promise<void> {
    if (this.#starting) return this.#starting
    if (this.#state !== 'closing') this.#state = 'starting'
    this.#queue.resetForWorker()
    const limits = this.#deps.limits
    const init: Extract<HostMessage, { type: 'init' }> = {
      type: 'init',
      session: this.#deps.sessionId,
      capabilities: this.#deps.capabilities,
      options: {
        maxOutputBytes: limits.maxOutputBytes,
        maxFrameBytes: limits.maxFrameBytes,
        outputFlushMs: limits.outputFlushMs,
        displayMaxBytes: limits.displayMaxBytes,
      },
    }
    let worker: WorkerConnection | undefined
    let table: CallTable | undefined
    const handlers = {
      onMessage: (message: WorkerMessage, frameBytes: number) => {
        if (worker && table) this.#onMessage(worker, table, message, frameBytes)
      },
      onExit: (exit: WorkerExit) => {
        if (!worker) return
        if (worker === this.#worker) this.#end(table, { kind: 'exit', exit })
        else if (table) this.#router.cancel(table, CALLS_END.exit)
      },
    }
    this.#starting = this.#deps
      .startWorker(init, handlers)
      .then((started) => {
        this.#starting = undefined
        worker = started
        table = this.#router.openTable(started)
        if (this.#state === 'closed') {
          started.kill()
          return
        }
        this.#worker = started
        this.#table = table
        if (this.#state === 'starting') this.#state = 'idle'
        this.pump()
        this.#maybeFinishClose()
      })
      .catch((error: CapsuleError) => {
        this.#starting = undefined
        if (this.#state !== 'closed' && this.#state !== 'closing') this.#state = 'dead'
        // Queued executions cannot run without a worker.
        this.#queue.fail(error, { current: false, queued: true })
        this.#maybeFinishClose()
        throw error
      })
    return this.#starting
  }

  #maybeFinishClose(): void {
    if (this.#state !== 'closing' || !this.#closeWaiter) return
    if (!this.#queue.empty || this.#starting) return
    const waiter = this.#closeWaiter
    this.#closeWaiter = undefined
    waiter()
  }

  #closed(): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#clearGrace()
    this.#deps.onClosed()
  }

  #clearGrace(): void {
    if (this.#graceTimer !== undefined) this.#deps.clock.clearTimeout(this.#graceTimer)
    this.#graceTimer = undefined
  }
}

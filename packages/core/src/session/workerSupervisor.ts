// Starting ─ready→ Idle ⇄ Busy ─worker exit→ Dead ─execute()/restart()→ Starting;  any ─close()→ Closing → Closed
import type { CallRouter, CallTable } from '../calls/callRouter.js'
import { CapsuleError, isCapsuleError } from '../errors.js'
import type { CapabilitySpec, WorkerMessage } from '../protocol/messages.js'
import type { Clock } from '../util/clock.js'
import type { WorkerConnection } from '../worker/workerConnection.js'
import type { WorkerExit } from '../worker/workerProcess.js'
import type { Execution, ExecutionTimeoutDetails } from './execution.js'
import { ExecutionInterrupts } from './executionInterrupts.js'
import { deliverOutput, type OutputMessage } from './executionOutput.js'
import type { ExecutionEnd, ExecutionQueue } from './executionQueue.js'
import type { Limits } from './limits.js'
import type { SessionState, StartWorker } from './sessionTypes.js'
import type { CheckpointCapture, RestoreReport, SnapshotExchange } from './snapshotExchange.js'
import { SnapshotSlot } from './snapshotSlot.js'
import { CALLS_END, type Ending, isIgnoredInterruptKill, workerLostError } from './workerEnding.js'
import { workerInit } from './workerInit.js'

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
  readonly #interrupts: ExecutionInterrupts
  #closeWaiter: (() => void) | undefined
  /** A checkpoint or restore under way: executions wait until it ends. */
  readonly #snapshot = new SnapshotSlot()

  constructor(deps: WorkerSupervisorDeps) {
    this.#deps = deps
    this.#queue = deps.queue
    this.#router = deps.router
    this.#interrupts = new ExecutionInterrupts({
      clock: deps.clock,
      limits: deps.limits,
      queue: deps.queue,
      router: deps.router,
    })
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
    if (this.#snapshot.active || queue.current || queue.queued === 0) return
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
    if (this.#snapshot.active || this.#queue.current || this.#state !== 'idle' || !worker?.isReady) {
      exchange.fail(new CapsuleError('SESSION_BUSY', 'a checkpoint or restore needs an idle session'))
      return exchange.result
    }
    this.#state = 'busy'
    return this.#snapshot.begin(exchange, worker, () => {
      if (this.#state === 'busy') this.#state = 'idle'
      this.pump()
    })
  }

  /** Interrupts `execution`: its calls are cancelled, Python sees KeyboardInterrupt, and it is killed after the grace period. */
  interrupt(execution: Execution): void {
    this.#interrupts.interrupt(execution, this.#worker, this.#table)
  }

  /**
   * A deadline passed: the running `execution` is interrupted and ends `timeout`, saying whether it
   * waited for input(). False when `execution` is not the one running.
   */
  timeOut(execution: Execution, details: ExecutionTimeoutDetails): boolean {
    return this.#interrupts.timeOut(execution, details, this.#worker, this.#table)
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
    this.#snapshot.fail(
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
        this.#interrupts.clear()
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
    if (execution && isIgnoredInterruptKill(exit, execution.interrupted)) {
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
    const error = workerLostError(exit)
    this.#interrupts.clear()
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
        this.#snapshot.onMessage(worker, message)
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

  #onOutput(worker: WorkerConnection, message: OutputMessage, frameBytes: number): void {
    let end: ExecutionEnd | undefined
    try {
      end = deliverOutput(this.#queue.current, message, frameBytes)
    } catch (error) {
      worker.kill(error as CapsuleError)
      return
    }
    if (end) this.#finish(end)
  }

  // Ends the running execution (`fields`, or lost with `lostBecause`), then starts the next.
  #finish(fields: ExecutionEnd | null, lostBecause?: string): void {
    this.#interrupts.clear()
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
    const init = workerInit(this.#deps.sessionId, this.#deps.capabilities, this.#deps.limits)
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
    this.#interrupts.clear()
    this.#deps.onClosed()
  }
}

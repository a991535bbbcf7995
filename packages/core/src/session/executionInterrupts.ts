import type { CallRouter, CallTable } from '../calls/callRouter.js'
import { CapsuleError } from '../errors.js'
import type { Clock } from '../util/clock.js'
import type { WorkerConnection } from '../worker/workerConnection.js'
import type { Execution, ExecutionTimeoutDetails } from './execution.js'
import type { ExecutionQueue } from './executionQueue.js'
import type { Limits } from './limits.js'

/** What interrupting an execution acts on. */
export interface ExecutionInterruptsDeps {
  clock: Clock
  /** `interruptGraceMs`: how long an interrupted execution may run on before its worker is killed. */
  limits: Pick<Limits, 'interruptGraceMs'>
  queue: ExecutionQueue
  router: CallRouter
}

/**
 * Interrupts and deadlines of the running execution: its calls are cancelled, Python sees
 * KeyboardInterrupt, and a worker whose code ignores that for the grace period is killed (its exit then
 * ends the execution as lost). One grace timer at a time, cleared whenever the execution ends.
 */
export class ExecutionInterrupts {
  readonly #deps: ExecutionInterruptsDeps
  #graceTimer: unknown

  constructor(deps: ExecutionInterruptsDeps) {
    this.#deps = deps
  }

  /** Interrupts `execution` on `worker`. */
  interrupt(execution: Execution, worker: WorkerConnection | undefined, table: CallTable | undefined): void {
    if (execution.done) return
    execution.interrupted = true
    if (table) this.#deps.router.cancel(table, 'the execution was interrupted', execution)
    worker?.send({ type: 'interrupt', id: execution.protocolId })
    if (this.#graceTimer !== undefined) return
    const { clock, queue } = this.#deps
    const graceMs = this.#deps.limits.interruptGraceMs
    this.#graceTimer = clock.setTimeout(() => {
      this.#graceTimer = undefined
      if (queue.current !== execution || execution.done) return
      worker?.kill(
        new CapsuleError('CANCELLED', `the execution ignored the interrupt for ${graceMs} ms and was killed`),
      )
    }, graceMs)
  }

  /**
   * A deadline passed: the running `execution` is interrupted and will end `timeout`, saying whether it
   * waited for input(). False when `execution` is not the one running.
   */
  timeOut(
    execution: Execution,
    details: ExecutionTimeoutDetails,
    worker: WorkerConnection | undefined,
    table: CallTable | undefined,
  ): boolean {
    if (this.#deps.queue.current !== execution || execution.done) return false
    if (execution.timedOut) return true
    const waiting = this.#deps.router.waitingInput(table, execution)
    execution.timedOut = true
    execution.timeoutDetails = waiting
      ? { ...details, waitingFor: 'input', prompt: waiting.input?.prompt ?? '' }
      : details
    this.interrupt(execution, worker, table)
    return true
  }

  /** The running execution ended (or its worker did): no kill is due. */
  clear(): void {
    if (this.#graceTimer !== undefined) this.#deps.clock.clearTimeout(this.#graceTimer)
    this.#graceTimer = undefined
  }
}

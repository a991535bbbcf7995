import { CapsuleError } from '../errors.js'
import type { PromiseStore } from '../promises/promiseStore.js'
import type { Clock } from '../util/clock.js'
import { Execution, type ExecutionResult, type ExecutionTimeoutDetails } from './execution.js'
import type { Limits } from './limits.js'
import { OutputCap } from './outputCap.js'
import type { ExecuteOptions } from './sessionTypes.js'

/** How the running execution ended, as the worker (or its loss) says. */
export type ExecutionEnd = Parameters<Execution['complete']>[0]

/** What a session's queue is built from. */
export interface ExecutionQueueDeps {
  sessionId: string
  limits: Limits
  store: PromiseStore
  clock: Clock
  /** Executions one worker may run; 0 = no cap. */
  maxExecutionsPerWorker: number
}

/**
 * A session's executions: the queue in order, the one running, and how each ends. It holds each running
 * execution as a promise in the store (with its deadline), and builds results; it never talks to a worker.
 */
export class ExecutionQueue {
  readonly #deps: ExecutionQueueDeps
  readonly #queued: Execution[] = []
  #current: Execution | undefined
  #seq = 0
  #protocolSeq = 0
  #workerExecutions = 0

  constructor(deps: ExecutionQueueDeps) {
    this.#deps = deps
  }

  /** The running execution. */
  get current(): Execution | undefined {
    return this.#current
  }

  /** Executions waiting their turn. */
  get queued(): number {
    return this.#queued.length
  }

  /** Executions created so far. */
  get created(): number {
    return this.#seq
  }

  /** Whether nothing runs or waits. */
  get empty(): boolean {
    return this.#current === undefined && this.#queued.length === 0
  }

  /** A new worker numbers its executions from 1 and has run none. */
  resetForWorker(): void {
    this.#protocolSeq = 0
    this.#workerExecutions = 0
  }

  /** Throws a typed error for arguments no execution could take. */
  static checkArguments(code: unknown, options: ExecuteOptions): void {
    if (typeof code !== 'string') {
      throw new CapsuleError(
        'INVALID_ARGUMENT',
        `code must be a string (got ${code === null ? 'null' : typeof code})`,
      )
    }
    if (options.timeoutMs !== undefined && !(Number.isInteger(options.timeoutMs) && options.timeoutMs >= 0)) {
      throw new CapsuleError(
        'INVALID_ARGUMENT',
        `timeoutMs must be an integer ≥ 0 (got ${options.timeoutMs})`,
      )
    }
  }

  /** Queues `code`; SESSION_BUSY when the caller will not wait, LIMIT_EXCEEDED past the worker's cap. */
  enqueue(code: string, options: ExecuteOptions, streaming: boolean): Execution {
    const { sessionId, maxExecutionsPerWorker: cap } = this.#deps
    if (options.wait === false && !this.empty) {
      throw new CapsuleError('SESSION_BUSY', `session ${sessionId} is running another execution`)
    }
    if (cap > 0 && this.#workerExecutions + this.#queued.length >= cap) {
      throw new CapsuleError(
        'LIMIT_EXCEEDED',
        `session ${sessionId} has used its ${cap} executions (pool.maxExecutionsPerWorker); open a new session`,
        { details: { limit: 'executions', maxExecutionsPerWorker: cap } },
      )
    }
    this.#seq += 1
    const execution = new Execution(
      `${sessionId}:e${this.#seq}`,
      code,
      streaming,
      new OutputCap(this.#deps.limits),
    )
    execution.timeoutMs = options.timeoutMs
    execution.onInput = options.onInput
    this.#queued.push(execution)
    return execution
  }

  /**
   * Makes the next queued execution the running one, numbered for the worker, held in the store with its
   * deadline; `onExpire` runs when that passes.
   */
  startNext(
    onExpire: (execution: Execution, details: ExecutionTimeoutDetails) => void,
  ): Execution | undefined {
    if (this.#current) return undefined
    const execution = this.#queued.shift()
    if (!execution) return undefined
    this.#current = execution
    this.#protocolSeq += 1
    this.#workerExecutions += 1
    execution.protocolId = this.#protocolSeq
    execution.startedAt = performance.now()
    const own = execution.timeoutMs !== undefined
    const timeoutMs = execution.timeoutMs ?? this.#deps.limits.executeTimeoutMs
    const { store, clock } = this.#deps
    store
      .create({
        id: execution.id,
        kind: 'execution',
        sessionId: this.#deps.sessionId,
        executionId: execution.id,
        deadline: timeoutMs > 0 ? clock.now() + timeoutMs : null,
        onExpire: () => {
          if (this.#current === execution)
            onExpire(execution, { limit: own ? 'timeoutMs' : 'executeTimeoutMs', timeoutMs })
        },
      })
      .catch(() => {})
    return execution
  }

  /** Ends the running execution with what the worker reported (or a loss); returns its result. */
  finishCurrent(fields: ExecutionEnd): ExecutionResult | undefined {
    const execution = this.#current
    if (!execution) return undefined
    this.#current = undefined
    const status = execution.timedOut && fields.status !== 'ok' ? 'timeout' : fields.status
    const details = status === 'timeout' ? execution.timeoutDetails : undefined
    const error =
      details?.waitingFor === 'input' && fields.error
        ? { ...fields.error, evalue: waitedForInputMessage(details) }
        : fields.error
    const result = execution.complete({ ...fields, status, error, ...(details ? { details } : {}) })
    this.#deps.store.settle(
      execution.id,
      status === 'timeout' ? 'timed_out' : status === 'interrupted' ? 'cancelled' : 'resolved',
      { value: result },
    )
    return result
  }

  /** Ends the running execution as interrupted because its worker is gone: the namespace is lost. */
  finishLost(evalue: string): void {
    this.finishCurrent({
      executionCount: 0,
      status: 'interrupted',
      value: null,
      error: { ename: 'KeyboardInterrupt', evalue, traceback: [] },
      outputTruncatedBytes: 0,
      stateLost: true,
    })
  }

  /** Fails the running execution (if any) and, with `queued`, every queued one with a host-side error. */
  fail(error: CapsuleError, which: { current: boolean; queued: boolean }): void {
    if (which.queued) for (const execution of this.#queued.splice(0)) this.#fail(execution, error)
    if (which.current && this.#current) {
      const execution = this.#current
      this.#current = undefined
      this.#fail(execution, error)
    }
  }

  #fail(execution: Execution, error: CapsuleError): void {
    execution.fail(error)
    this.#deps.store.settle(execution.id, error.code === 'SESSION_CLOSED' ? 'cancelled' : 'rejected', {
      error,
    })
  }
}

function waitedForInputMessage(details: ExecutionTimeoutDetails): string {
  const prompt = details.prompt ? ` ${JSON.stringify(details.prompt)}` : ''
  return `the cell was waiting for an answer to input()${prompt} when ${details.limit} (${details.timeoutMs} ms) passed`
}

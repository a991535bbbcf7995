// Starting ─ready→ Idle ⇄ Busy ─worker exit→ Dead ─execute()/restart()→ Starting;  any ─close()→ Closing → Closed

import type { CapabilityLogger, SecurityLevel } from '@capsule/provider-sdk'
import { CapabilityError } from '@capsule/provider-sdk'
import type { CallOutcome, CapabilityInvoker } from '../capabilities/capabilityInvoker.js'
import { CapsuleError, isCapsuleError } from '../errors.js'
import type { PromiseStore } from '../promises/promiseStore.js'
import type { CallMessage, CapabilitySpec, HostMessage, WorkerMessage } from '../protocol/messages.js'
import type { SecurityPolicy } from '../security/securityPolicy.js'
import type { Clock } from '../util/clock.js'
import { exitSummary } from '../worker/exitSummary.js'
import {
  describeExit,
  type WorkerExit,
  type WorkerProcess,
  type WorkerProcessHandlers,
} from '../worker/workerProcess.js'
import {
  Execution,
  type ExecutionEvent,
  type ExecutionResult,
  type ExecutionTimeoutDetails,
  type InputEvent,
} from './execution.js'
import type { Limits } from './limits.js'
import { OutputCap } from './outputCap.js'
import type { PendingCallBudget } from './pendingCallBudget.js'

/** The Capsule's way to hand a session its `input()` requests; not part of the public Session API. */
export const announceInput = Symbol('announceInput')

/** Answers `input()` prompts: return the text (or a promise of it), or undefined to leave it pending. */
export type InputHandler = (request: {
  prompt: string
  password: boolean
  promiseId: string
  sessionId: string
  executionId: string | null
}) => string | undefined | Promise<string | undefined>

/** Options of one execution. */
export interface ExecuteOptions {
  /** When another execution is running or queued: wait in order (default) or fail with SESSION_BUSY. */
  wait?: boolean
  /** Overrides the session's `executeTimeoutMs` for this execution. */
  timeoutMs?: number
  /** Answers `input()` during this execution. */
  onInput?: InputHandler
}

/** Lifecycle states of a session. */
export type SessionState = 'starting' | 'idle' | 'busy' | 'dead' | 'closing' | 'closed'

/** A snapshot of a session for hosts and dashboards. */
export interface SessionInfo {
  id: string
  state: SessionState
  /** The worker's pid as the host sees it (the sandbox launcher's when sandboxed). */
  pid: number | undefined
  /** The Python interpreter's pid inside the worker (differs under a PID namespace). */
  workerPid: number | undefined
  python: string | undefined
  codec: string | undefined
  sandbox: 'none' | 'bwrap'
  level: SecurityLevel
  /** Ids of the capabilities injected into this session. */
  capabilities: string[]
  /** Executions run (and failed) so far. */
  executions: number
  queuedExecutions: number
  pendingCalls: number
  /** Bytes of call frames the pending calls hold (see `maxPendingCallBytes`). */
  pendingCallBytes: number
  calls: { allowed: number; denied: number; failed: number }
  /** Whether an `input()` of this session is waiting for its answer now. */
  waitingForInput: boolean
  /** Epoch ms of the last heartbeat answer. */
  lastHeartbeatAt: number | undefined
  /** Spawn-to-ready milliseconds of the current worker. */
  startupMs: number | undefined
  restarts: number
}

/** Everything a session is built from (the Capsule composes it). */
export interface SessionDeps {
  id: string
  policy: SecurityPolicy
  limits: Limits
  invoker: CapabilityInvoker
  store: PromiseStore
  clock: Clock
  sandbox: 'none' | 'bwrap'
  startWorker(
    init: Extract<HostMessage, { type: 'init' }>,
    handlers: WorkerProcessHandlers,
  ): Promise<WorkerProcess>
  onInput?: InputHandler
  onClose?(session: Session): void
  /** The worker died outside an execution's control (the pool drops a warm session then). */
  onWorkerLost?(session: Session): void
  /** Executions one worker may run; past it `execute` fails with LIMIT_EXCEEDED. 0 = no cap. */
  maxExecutionsPerWorker?: number
  /** The Capsule's budget of bytes held by pending calls, shared by its sessions. */
  callBudget?: PendingCallBudget
  /** Where the session warns about `input()` nobody answers. Silent by default. */
  logger?: CapabilityLogger
}

/** An `input()` of this session waiting for its answer. */
interface PendingInput {
  execution: Execution | null
  prompt: string
  /** The `inputTimeoutMs` timer, once the question has been put to someone. */
  timer: unknown
}

interface PendingCall {
  callId: string
  execution: Execution | null
  /** The size of its call frame, held until the call is answered. */
  bytes: number
}

// The calls one worker has open, keyed by the worker's ids. Each worker gets its own table, so a new
// worker's ids never meet an old one's, and an old worker's late answers find their own table.
interface CallTable {
  readonly calls: Map<number, PendingCall>
  bytes: number
}

const emptyTable = (): CallTable => ({ calls: new Map(), bytes: 0 })

/**
 * A Python worker with a persistent namespace, and the host's side of its protocol. Executions run
 * one at a time, in order; capability calls are checked and run by the invoker on every call frame.
 */
export class Session {
  readonly id: string
  readonly #deps: SessionDeps
  readonly #grantedSpecs: CapabilitySpec[]
  #state: SessionState = 'starting'
  #worker: WorkerProcess | undefined
  #starting: Promise<void> | undefined
  #current: Execution | undefined
  readonly #queue: Execution[] = []
  // The current worker's open calls.
  #calls: CallTable = emptyTable()
  readonly #inputs = new Map<string, PendingInput>()
  #protocolSeq = 0
  #executionSeq = 0
  #workerExecutions = 0
  #callSeq = 0
  #restarts = 0
  readonly #counters = { allowed: 0, denied: 0, failed: 0 }
  #closed: Promise<void> | undefined
  #graceTimer: unknown

  constructor(deps: SessionDeps) {
    this.id = deps.id
    this.#deps = deps
    this.#grantedSpecs = deps.policy.granted().map((capability) => capability.spec)
  }

  /** Starts the first worker. The Capsule calls this before handing the session out. */
  async start(): Promise<void> {
    await this.#startWorker()
  }

  /** The current lifecycle state. */
  get state(): SessionState {
    return this.#state
  }

  /**
   * Runs `code` and yields what it does as it happens: output, displays, input prompts, capability
   * calls, and finally `result` or `error`. A host-side failure (the worker died) is thrown by the
   * iterator as a CapsuleError after the events that preceded it.
   */
  execute(
    code: string,
    options: ExecuteOptions = {},
  ): AsyncIterable<ExecutionEvent> & { readonly result: Promise<ExecutionResult> } {
    return this.#enqueue(code, options, true)
  }

  /** Runs `code` to the end and returns its result (`status` tells how it ended). */
  async run(code: string, options: ExecuteOptions = {}): Promise<ExecutionResult> {
    const execution = this.#enqueue(code, options, false)
    return execution.result
  }

  /**
   * Interrupts the running execution (KeyboardInterrupt in Python; its capability calls are
   * cancelled). Code that ignores it is killed after `interruptGraceMs` and the worker restarts,
   * with `stateLost` in the result. Resolves when the execution has ended.
   */
  async interrupt(): Promise<void> {
    const execution = this.#current
    if (!execution || execution.done) return
    this.#interrupt(execution)
    await execution.result.then(
      () => undefined,
      () => undefined,
    )
  }

  /**
   * Replaces the worker with a fresh one (empty namespace). Everything the old worker had open is settled
   * first: its capability calls are cancelled (handlers see their signal abort) and the running execution
   * ends `interrupted` with `stateLost`. Queued executions wait for the new worker.
   */
  async restart(): Promise<void> {
    this.#assertOpen()
    const worker = this.#worker
    if (worker) {
      this.#worker = undefined
      // Not idle: the queue waits for the new worker instead of reviving the old one.
      this.#state = 'starting'
      this.#settleWorkerWork(this.#calls, 'the session was restarted')
      worker.kill(new CapsuleError('CANCELLED', 'the session was restarted'))
      await worker.exited()
    }
    this.#restarts += 1
    await this.#startWorker()
  }

  /**
   * Stops accepting work, lets the running and queued executions finish, then shuts the worker down.
   * Idempotent.
   */
  close(): Promise<void> {
    if (!this.#closed) this.#closed = this.#close()
    return this.#closed
  }

  /** Ends the session at once: everything pending is rejected with `error`, the worker killed. Idempotent. */
  destroy(error: CapsuleError = new CapsuleError('SESSION_CLOSED', 'the session was destroyed')): void {
    if (this.#state === 'closed') return
    this.#state = 'closing'
    for (const execution of this.#queue.splice(0)) this.#finishFailed(execution, error)
    if (this.#current) this.#finishFailed(this.#current, error)
    this.#current = undefined
    this.#cancelCalls(this.#calls, 'the session was destroyed')
    this.#worker?.kill(error)
    this.#finalizeClosed()
    this.#closed ??= Promise.resolve()
  }

  /** A snapshot: pid, sandbox, level, capabilities, counters, last heartbeat. */
  info(): SessionInfo {
    const worker = this.#worker
    return {
      id: this.id,
      state: this.#state,
      pid: worker?.pid,
      workerPid: worker?.hello.worker.pid,
      python: worker?.hello.worker.python,
      codec: worker?.codec,
      sandbox: this.#deps.sandbox,
      level: this.#deps.policy.level,
      capabilities: this.#grantedSpecs.map((spec) => spec.id),
      executions: this.#executionSeq,
      queuedExecutions: this.#queue.length,
      pendingCalls: this.#calls.calls.size,
      pendingCallBytes: this.#calls.bytes,
      calls: { ...this.#counters },
      waitingForInput: this.#inputs.size > 0,
      lastHeartbeatAt: worker?.lastHeartbeatAt,
      startupMs: worker?.startupMs,
      restarts: this.#restarts,
    }
  }

  // ── executions ──────────────────────────────────────────────────────────────────────────────

  #enqueue(code: string, options: ExecuteOptions, streaming: boolean): Execution {
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
    this.#assertOpen()
    if (options.wait === false && (this.#current || this.#queue.length > 0)) {
      throw new CapsuleError('SESSION_BUSY', `session ${this.id} is running another execution`)
    }
    const cap = this.#deps.maxExecutionsPerWorker ?? 0
    if (cap > 0 && this.#workerExecutions + this.#queue.length >= cap) {
      throw new CapsuleError(
        'LIMIT_EXCEEDED',
        `session ${this.id} has used its ${cap} executions (pool.maxExecutionsPerWorker); open a new session`,
        { details: { limit: 'executions', maxExecutionsPerWorker: cap } },
      )
    }
    this.#executionSeq += 1
    const execution = new Execution(
      `${this.id}:e${this.#executionSeq}`,
      code,
      streaming,
      new OutputCap(this.#deps.limits),
    )
    executionOptions.set(execution, options)
    this.#queue.push(execution)
    this.#pump()
    return execution
  }

  #timeoutOf(options: ExecuteOptions): number {
    return options.timeoutMs ?? this.#deps.limits.executeTimeoutMs
  }

  // Starts the next queued execution when the worker is idle.
  #pump(): void {
    if (this.#current || this.#queue.length === 0) return
    if (this.#state === 'dead') {
      this.#restarts += 1
      this.#startWorker().catch(() => {})
      return
    }
    if (this.#state !== 'idle' && this.#state !== 'closing') return
    const worker = this.#worker
    if (!worker?.isReady) return
    const execution = this.#queue.shift()!
    this.#current = execution
    this.#state = this.#state === 'closing' ? 'closing' : 'busy'
    this.#protocolSeq += 1
    this.#workerExecutions += 1
    execution.protocolId = this.#protocolSeq
    execution.startedAt = performance.now()
    try {
      worker.send({ type: 'execute', id: execution.protocolId, code: execution.code })
    } catch (error) {
      this.#current = undefined
      this.#state = this.#state === 'closing' ? 'closing' : 'idle'
      this.#finishFailed(
        execution,
        isCapsuleError(error) ? error : new CapsuleError('INVALID_ARGUMENT', String(error)),
      )
      this.#pump()
      return
    }
    // The store holds the running execution as a promise; at its deadline the session interrupts, then kills.
    const timeoutMs = this.#timeoutOf(executionOptions.get(execution) ?? {})
    this.#deps.store
      .create({
        id: execution.id,
        kind: 'execution',
        sessionId: this.id,
        executionId: execution.id,
        deadline: timeoutMs > 0 ? this.#deps.clock.now() + timeoutMs : null,
        onExpire: () => {
          if (this.#current !== execution) return
          const own = executionOptions.get(execution)?.timeoutMs !== undefined
          this.#timeOut(execution, { limit: own ? 'timeoutMs' : 'executeTimeoutMs', timeoutMs })
        },
      })
      .catch(() => {})
  }

  // A deadline passed: the execution is interrupted and ends `timeout`, saying whether it waited for input().
  #timeOut(execution: Execution, details: ExecutionTimeoutDetails): void {
    if (execution.done || execution.timedOut) return
    const waiting = [...this.#inputs.values()].find((input) => input.execution === execution)
    execution.timedOut = true
    execution.timeoutDetails = waiting ? { ...details, waitingFor: 'input', prompt: waiting.prompt } : details
    this.#interrupt(execution)
  }

  #interrupt(execution: Execution): void {
    if (execution.done) return
    execution.interrupted = true
    // Running host work of this execution stops now; Python sees KeyboardInterrupt.
    this.#cancelCalls(this.#calls, 'the execution was interrupted', execution)
    this.#worker?.send({ type: 'interrupt', id: execution.protocolId })
    if (this.#graceTimer === undefined) {
      this.#graceTimer = this.#deps.clock.setTimeout(() => {
        this.#graceTimer = undefined
        if (this.#current !== execution || execution.done) return
        // The code ignored the interrupt: kill the worker; #onWorkerExit finishes the execution.
        this.#worker?.kill(
          new CapsuleError(
            'CANCELLED',
            `the execution ignored the interrupt for ${this.#deps.limits.interruptGraceMs} ms and was killed`,
          ),
        )
      }, this.#deps.limits.interruptGraceMs)
    }
  }

  #finishCurrent(fields: Parameters<Execution['complete']>[0]): void {
    const execution = this.#current!
    this.#clearExecutionTimers()
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
      {
        value: result,
      },
    )
    if (this.#state === 'busy') this.#state = 'idle'
    this.#pump()
    this.#maybeFinishClose()
  }

  #finishFailed(execution: Execution, error: CapsuleError): void {
    execution.fail(error)
    this.#deps.store.settle(execution.id, error.code === 'SESSION_CLOSED' ? 'cancelled' : 'rejected', {
      error,
    })
  }

  #clearExecutionTimers(): void {
    if (this.#graceTimer !== undefined) this.#deps.clock.clearTimeout(this.#graceTimer)
    this.#graceTimer = undefined
  }

  // ── worker messages ─────────────────────────────────────────────────────────────────────────

  #onMessage(worker: WorkerProcess, table: CallTable, message: WorkerMessage, frameBytes: number): void {
    if (worker !== this.#worker) return
    switch (message.type) {
      case 'stream':
      case 'display':
      case 'result':
      case 'error': {
        const execution = this.#current
        if (!execution || execution.protocolId !== message.id) {
          worker.kill(
            new CapsuleError(
              'PROTOCOL_ERROR',
              `the worker sent ${message.type} for execution ${message.id}, which is not running`,
              {
                details: { type: message.type, id: message.id },
              },
            ),
          )
          return
        }
        if (message.type === 'stream') execution.pushStream(message.name, message.text)
        else if (message.type === 'display')
          execution.pushDisplay(message.data, message.metadata ?? {}, frameBytes)
        else if (message.type === 'result') {
          this.#finishCurrent({
            executionCount: message.count,
            status: 'ok',
            value: message.value,
            error: null,
            outputTruncatedBytes: message.truncated ?? 0,
            stateLost: false,
          })
        } else {
          const interrupted = execution.interrupted && message.ename === 'KeyboardInterrupt'
          this.#finishCurrent({
            executionCount: message.count,
            status: interrupted ? 'interrupted' : 'error',
            value: null,
            error: { ename: message.ename, evalue: message.evalue, traceback: message.traceback },
            outputTruncatedBytes: message.truncated ?? 0,
            stateLost: false,
          })
        }
        return
      }
      case 'call':
        this.#onCall(worker, table, message, frameBytes)
        return
      case 'call_cancel': {
        const pending = table.calls.get(message.id)
        if (pending) this.#cancelCall(pending, 'Python cancelled the call')
        return
      }
      default:
        return
    }
  }

  #onCall(worker: WorkerProcess, table: CallTable, message: CallMessage, frameBytes: number): void {
    if (table.calls.has(message.id)) {
      worker.kill(
        new CapsuleError('PROTOCOL_ERROR', `the worker reused call id ${message.id} while it was pending`, {
          details: { type: 'call', id: message.id },
        }),
      )
      return
    }
    const { limits, callBudget } = this.#deps
    // The Capsule-wide cap refuses the call before any work: other sessions' calls hold the bytes.
    if (callBudget && !callBudget.tryReserve(frameBytes)) {
      this.#counters.failed += 1
      worker.send({
        type: 'call_error',
        id: message.id,
        code: 'LIMIT_EXCEEDED',
        message: `the host holds ${callBudget.usedBytes} bytes of pending capability calls, the most it allows (maxCapsulePendingCallBytes ${callBudget.maxBytes}); retry when some have finished`,
      })
      return
    }
    // The frame's `exec` is a claim by untrusted code: attribute the call only if it names the running one.
    const execution =
      message.exec !== null && this.#current?.protocolId === message.exec ? this.#current : null
    this.#callSeq += 1
    const callId = `${this.id}:c${this.#callSeq}`
    table.calls.set(message.id, { callId, execution, bytes: frameBytes })
    table.bytes += frameBytes
    // Backpressure: a flood of calls (or a few huge ones) parks the worker on a full pipe instead of
    // filling host memory.
    if (table.calls.size >= limits.maxPendingCalls || table.bytes >= limits.maxPendingCallBytes) {
      worker.pauseReading()
    }
    if (message.capability === 'io.input')
      this.#inputs.set(callId, { execution, prompt: '', timer: undefined })
    // Redacted once, for the event and the audit alike.
    const redactedArgs = execution?.streaming
      ? this.#deps.invoker.redactArgs(message.capability, message.args)
      : undefined
    if (execution?.streaming) {
      execution.push({ type: 'call', callId, capability: message.capability, args: redactedArgs })
    }
    const policy = this.#deps.policy
    this.#deps.invoker
      .invoke({
        callId,
        capability: message.capability,
        args: message.args,
        argBytes: frameBytes,
        redactedArgs,
        sessionId: this.id,
        executionId: execution?.id ?? null,
        level: policy.level,
        policy,
        onProgress: execution?.streaming
          ? (update) =>
              execution.push({ type: 'progress', callId, capability: message.capability, ...update })
          : undefined,
      })
      .then((outcome) => this.#answerCall(worker, table, message.id, outcome))
      .catch((cause) =>
        worker.kill(
          new CapsuleError('PROTOCOL_ERROR', `answering call ${message.id} failed: ${String(cause)}`, {
            cause,
          }),
        ),
      )
  }

  #answerCall(worker: WorkerProcess, table: CallTable, protocolId: number, outcome: CallOutcome): void {
    const pending = table.calls.get(protocolId)
    if (pending) {
      table.calls.delete(protocolId)
      table.bytes -= pending.bytes
      this.#deps.callBudget?.release(pending.bytes)
      this.#forgetInput(pending.callId)
    }
    const { maxPendingCalls, maxPendingCallBytes } = this.#deps.limits
    if (
      worker.isPaused &&
      table.calls.size <= maxPendingCalls / 2 &&
      table.bytes <= maxPendingCallBytes / 2
    ) {
      worker.resumeReading()
    }
    if (outcome.ok) this.#counters.allowed += 1
    else if (outcome.code === 'DENIED') this.#counters.denied += 1
    else this.#counters.failed += 1
    if (worker !== this.#worker || !worker.isReady) return
    try {
      if (outcome.ok) worker.send({ type: 'call_result', id: protocolId, value: outcome.value })
      else worker.send({ type: 'call_error', id: protocolId, code: outcome.code, message: outcome.message })
    } catch (error) {
      const message = isCapsuleError(error) ? error.message : String(error)
      worker.send({
        type: 'call_error',
        id: protocolId,
        code: 'LIMIT_EXCEEDED',
        message: `the result is too large to send: ${message}`,
      })
    }
  }

  /**
   * Routes an `input()` request of this session to the execution's consumer and the input handlers. With
   * nobody who could answer (no handler, no consumer reading the events) Python gets EOFError at once, as
   * with a closed stdin; otherwise the answer has `inputTimeoutMs`.
   */
  [announceInput](request: {
    callId: string
    prompt: string
    password: boolean
    executionId: string | null
  }): void {
    const input = this.#inputs.get(request.callId)
    if (!input) return
    input.prompt = request.prompt
    const execution = input.execution
    const { store, logger } = this.#deps
    const where = { sessionId: this.id, executionId: request.executionId, promiseId: request.callId }
    const handler = (execution && executionOptions.get(execution)?.onInput) ?? this.#deps.onInput
    if (!handler && !execution?.reading) {
      logger?.warn(
        'input() has nobody to answer it (no onInput handler, no execute() consumer): EOFError',
        where,
      )
      // NOT_FOUND on io.input is what the worker raises as EOFError.
      store.settle(request.callId, 'rejected', {
        error: new CapabilityError(
          'NOT_FOUND',
          'EOF when reading a line: nobody is there to answer input() (the host set no onInput handler and reads no execute() events)',
        ),
      })
      return
    }
    const settle = (text: unknown) => {
      if (typeof text !== 'string') return
      store.settle(request.callId, 'resolved', { value: text })
    }
    const event: InputEvent = {
      type: 'input',
      prompt: request.prompt,
      password: request.password,
      promiseId: request.callId,
      reply: (text: string) => {
        if (typeof text !== 'string') throw new CapsuleError('INVALID_ARGUMENT', 'reply() takes a string')
        settle(text)
      },
    }
    execution?.push(event)
    this.#startInputTimer(request.callId, input)
    if (!handler) return
    const answer = {
      prompt: request.prompt,
      password: request.password,
      promiseId: request.callId,
      sessionId: this.id,
      executionId: request.executionId,
    }
    Promise.resolve()
      .then(() => handler(answer))
      .then(
        (text) => {
          settle(text)
          if (typeof text !== 'string' && !execution?.reading && store.get(request.callId)) {
            logger?.warn(
              'input() is waiting: the onInput handler left it unanswered; answer it with capsule.promises.resolve(promiseId, text)',
              { ...where, inputTimeoutMs: this.#deps.limits.inputTimeoutMs },
            )
          }
        },
        (error) =>
          store.settle(request.callId, 'rejected', {
            error: new CapabilityError('UNAVAILABLE', 'the host could not answer input()', { cause: error }),
          }),
      )
  }

  #startInputTimer(callId: string, input: PendingInput): void {
    const timeoutMs = this.#deps.limits.inputTimeoutMs
    if (timeoutMs <= 0) return
    input.timer = this.#deps.clock.setTimeout(() => {
      input.timer = undefined
      if (!this.#deps.store.get(callId)) return
      const execution = input.execution
      this.#deps.logger?.warn('input() was not answered within inputTimeoutMs', {
        sessionId: this.id,
        executionId: execution?.id ?? null,
        promiseId: callId,
        inputTimeoutMs: timeoutMs,
      })
      if (execution && this.#current === execution && !execution.done) {
        this.#timeOut(execution, { limit: 'inputTimeoutMs', timeoutMs })
        return
      }
      // An input() outside the running execution (a background thread): only the call times out.
      this.#deps.store.settle(callId, 'timed_out', {
        error: new CapabilityError(
          'TIMEOUT',
          `input() was not answered within ${timeoutMs} ms (limits.inputTimeoutMs)`,
        ),
      })
    }, timeoutMs)
  }

  #forgetInput(callId: string): void {
    const input = this.#inputs.get(callId)
    if (!input) return
    if (input.timer !== undefined) this.#deps.clock.clearTimeout(input.timer)
    this.#inputs.delete(callId)
  }

  // ── worker lifecycle ────────────────────────────────────────────────────────────────────────

  #startWorker(): Promise<void> {
    if (this.#starting) return this.#starting
    this.#state = this.#state === 'closing' ? 'closing' : 'starting'
    this.#protocolSeq = 0
    this.#workerExecutions = 0
    const init: Extract<HostMessage, { type: 'init' }> = {
      type: 'init',
      session: this.id,
      capabilities: this.#grantedSpecs,
      options: {
        maxOutputBytes: this.#deps.limits.maxOutputBytes,
        maxFrameBytes: this.#deps.limits.maxFrameBytes,
        outputFlushMs: this.#deps.limits.outputFlushMs,
        displayMaxBytes: this.#deps.limits.displayMaxBytes,
      },
    }
    let worker: WorkerProcess | undefined
    const table = emptyTable()
    const handlers: WorkerProcessHandlers = {
      onMessage: (message, frameBytes) => worker && this.#onMessage(worker, table, message, frameBytes),
      onExit: (exit) => worker && this.#onWorkerExit(worker, table, exit),
    }
    this.#starting = this.#deps
      .startWorker(init, handlers)
      .then((started) => {
        this.#starting = undefined
        worker = started
        if (this.#state === 'closed') {
          started.kill()
          return
        }
        this.#worker = started
        this.#calls = table
        if (this.#state === 'starting') this.#state = 'idle'
        this.#pump()
        this.#maybeFinishClose()
      })
      .catch((error: CapsuleError) => {
        this.#starting = undefined
        if (this.#state !== 'closed' && this.#state !== 'closing') this.#state = 'dead'
        // Queued executions cannot run without a worker.
        for (const execution of this.#queue.splice(0)) this.#finishFailed(execution, error)
        this.#maybeFinishClose()
        throw error
      })
      .finally(() => {
        this.#starting = undefined
      })
    return this.#starting
  }

  #onWorkerExit(worker: WorkerProcess, table: CallTable, exit: WorkerExit): void {
    // Whatever else happens, nothing the worker had open stays open (restart detached it already).
    this.#cancelCalls(table, 'the worker is gone')
    if (worker !== this.#worker) return
    this.#worker = undefined
    const execution = this.#current
    const reason = exit.reason
    // Killed on purpose after an ignored interrupt: the execution ends as interrupted, state lost.
    if (execution?.interrupted && (!reason || reason.code === 'CANCELLED')) {
      this.#finishLost(
        'the code ignored the interrupt; the worker was killed and restarted, and its state is lost',
      )
      if (this.#state !== 'closing' && this.#state !== 'closed') {
        this.#restarts += 1
        this.#state = 'starting'
        this.#startWorker().catch(() => {})
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
    this.#clearExecutionTimers()
    this.#current = undefined
    if (execution) this.#finishFailed(execution, error)
    for (const queued of this.#queue.splice(0)) this.#finishFailed(queued, error)
    if (this.#state !== 'closing' && this.#state !== 'closed') this.#state = 'dead'
    this.#maybeFinishClose()
    this.#deps.onWorkerLost?.(this)
  }

  // A call is cancelled by settling its promise; the invoker then aborts the handler's signal and the
  // answer, when it comes, frees the call's place in its table.
  #cancelCall(pending: PendingCall, reason: string): void {
    this.#deps.store.settle(pending.callId, 'cancelled', { error: new CapabilityError('CANCELLED', reason) })
  }

  #cancelCalls(table: CallTable, reason: string, execution?: Execution): void {
    for (const pending of [...table.calls.values()]) {
      if (execution === undefined || pending.execution === execution) this.#cancelCall(pending, reason)
    }
  }

  // A worker is being replaced: cancel its calls and end its running execution now, without waiting for
  // the process to go.
  #settleWorkerWork(table: CallTable, reason: string): void {
    this.#cancelCalls(table, reason)
    if (this.#current) this.#finishLost(`${reason}; the worker was replaced, and its state is lost`)
  }

  // The running execution ends as interrupted because its worker is gone.
  #finishLost(evalue: string): void {
    this.#finishCurrent({
      executionCount: 0,
      status: 'interrupted',
      value: null,
      error: { ename: 'KeyboardInterrupt', evalue, traceback: [] },
      outputTruncatedBytes: 0,
      stateLost: true,
    })
  }

  // ── closing ─────────────────────────────────────────────────────────────────────────────────

  #closeWaiter: (() => void) | undefined

  async #close(): Promise<void> {
    if (this.#state === 'closed') return
    this.#state = 'closing'
    if (this.#current || this.#queue.length > 0 || this.#starting) {
      await new Promise<void>((resolve) => {
        this.#closeWaiter = resolve
        this.#maybeFinishClose()
      })
    }
    const worker = this.#worker
    this.#worker = undefined
    this.#cancelCalls(this.#calls, 'the session is closed')
    if (worker) await worker.shutdown(1000)
    this.#finalizeClosed()
  }

  #maybeFinishClose(): void {
    if (this.#state !== 'closing' || !this.#closeWaiter) return
    if (this.#current || this.#queue.length > 0 || this.#starting) return
    const waiter = this.#closeWaiter
    this.#closeWaiter = undefined
    waiter()
  }

  #finalizeClosed(): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#clearExecutionTimers()
    this.#deps.onClose?.(this)
  }

  #assertOpen(): void {
    if (this.#state === 'closing' || this.#state === 'closed') {
      throw new CapsuleError('SESSION_CLOSED', `session ${this.id} is closed`)
    }
  }
}

function waitedForInputMessage(details: ExecutionTimeoutDetails): string {
  const prompt = details.prompt ? ` ${JSON.stringify(details.prompt)}` : ''
  return `the cell was waiting for an answer to input()${prompt} when ${details.limit} (${details.timeoutMs} ms) passed`
}

// Per-execution options, kept beside the execution so the Execution class stays a plain event stream.
const executionOptions = new WeakMap<Execution, ExecuteOptions>()

// Starting ─ready→ Idle ⇄ Busy ─worker exit→ Dead ─execute()/restart()→ Starting;  any ─close()→ Closing → Closed
import type { CapabilityLogger } from '@capsule/provider-sdk'
import type { CallDirectory } from '../calls/callDirectory.js'
import type { CallPipeline } from '../calls/callPipeline.js'
import { CallRouter } from '../calls/callRouter.js'
import type { DurableRunner } from '../durable/durableRunner.js'
import { CapsuleError } from '../errors.js'
import type { PromiseStore } from '../promises/promiseStore.js'
import type { CapabilitySpec } from '../protocol/messages.js'
import type { SecurityPolicy } from '../security/securityPolicy.js'
import type { Clock } from '../util/clock.js'
import { DeferredExecution } from './deferredExecution.js'
import type { Execution, ExecutionEvent, ExecutionResult } from './execution.js'
import { ExecutionQueue } from './executionQueue.js'
import { InputPrompts, type InputPromptsDeps } from './inputPrompts.js'
import type { Limits } from './limits.js'
import type { PendingCallBudget } from './pendingCallBudget.js'
import { type Checkpoint, type SessionCheckpoints, SessionSnapshots } from './sessionSnapshots.js'
import type { ExecuteOptions, InputHandler, SessionInfo, SessionState, StartWorker } from './sessionTypes.js'
import type { RestoreReport } from './snapshotExchange.js'
import { WorkerSupervisor } from './workerSupervisor.js'

export type { ExecuteOptions, InputHandler, SessionInfo, SessionState, StartWorker } from './sessionTypes.js'

/** Everything a session is built from (the Capsule composes it). */
export interface SessionDeps {
  id: string
  policy: SecurityPolicy
  limits: Limits
  /** Runs the session's capability calls (one per Capsule). */
  pipeline: CallPipeline
  /** The Capsule's index of calls in flight. */
  calls: CallDirectory
  /** Holds the session's executions as promises. */
  store: PromiseStore
  clock: Clock
  sandbox: 'none' | 'bwrap'
  startWorker: StartWorker
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
  /** Durable sessions: where `input()` questions are also put, so any process on the journal may answer. */
  journalInput?: InputPromptsDeps['journal']
  /**
   * Makes the session durable: builds its journal side, given a way to run a cell in the session's own
   * queue. `run` and `execute` then go through the journal.
   */
  durable?: (
    execute: (code: string, options: ExecuteOptions, streaming: boolean) => Execution,
  ) => DurableRunner
  /** How checkpoints are sealed and found: the Capsule's key, size cap and journal. */
  checkpoints?: SessionCheckpoints
}

/**
 * A Python worker with a persistent namespace, and the host's side of its protocol. Executions run one
 * at a time, in order; capability calls are checked and run on every call frame.
 *
 * A façade over three parts: the {@link ExecutionQueue} (executions in order and how each ends), the
 * {@link CallRouter} (call frames to the pipeline and answers back) and the {@link WorkerSupervisor}
 * (the worker's life, and the one place where everything a worker had open is settled).
 */
export class Session {
  readonly id: string
  readonly #deps: SessionDeps
  readonly #capabilities: CapabilitySpec[]
  readonly #queue: ExecutionQueue
  readonly #router: CallRouter
  readonly #supervisor: WorkerSupervisor
  readonly #durable: DurableRunner | undefined
  readonly #snapshots: SessionSnapshots
  #closed: Promise<void> | undefined

  constructor(deps: SessionDeps) {
    this.id = deps.id
    this.#deps = deps
    this.#capabilities = deps.policy.granted().map((capability) => capability.spec)
    const { limits, clock } = deps
    this.#queue = new ExecutionQueue({
      sessionId: deps.id,
      limits,
      store: deps.store,
      clock,
      maxExecutionsPerWorker: deps.maxExecutionsPerWorker ?? 0,
    })
    const prompts = new InputPrompts({
      sessionId: deps.id,
      inputTimeoutMs: limits.inputTimeoutMs,
      clock,
      onInput: deps.onInput,
      logger: deps.logger,
      timeOutExecution: (execution, details) => this.#supervisor.timeOut(execution, details),
      journal: deps.journalInput,
    })
    this.#router = new CallRouter({
      sessionId: deps.id,
      policy: deps.policy,
      pipeline: deps.pipeline,
      directory: deps.calls,
      limits,
      budget: deps.callBudget,
      hooks: prompts,
      clock,
    })
    this.#supervisor = new WorkerSupervisor({
      sessionId: deps.id,
      limits,
      clock,
      capabilities: this.#capabilities,
      startWorker: deps.startWorker,
      queue: this.#queue,
      router: this.#router,
      onWorkerLost: () => deps.onWorkerLost?.(this),
      onClosed: () => deps.onClose?.(this),
    })
    this.#durable = deps.durable?.((code, options, streaming) => this.#enqueue(code, options, streaming))
    this.#snapshots = new SessionSnapshots({
      checkpoints: deps.checkpoints,
      supervisor: this.#supervisor,
      queue: this.#queue,
      capabilities: this.#capabilities.map((spec) => spec.id),
      durable: this.#durable,
    })
  }

  /**
   * Checkpoints the namespace between cells (after the executions queued before it): each user variable
   * pickled inside the worker, with capabilities, modules and definitions as references and the sources of
   * the cells that define code. Sealed with the Capsule's `checkpointKey`; a durable session also stores it
   * in the journal (`id`). The host never unpickles it. See docs/checkpoints.md.
   */
  checkpoint(): Promise<Checkpoint> {
    this.#assertOpen()
    return this.#snapshots.checkpoint()
  }

  /**
   * Rebuilds the namespace from a checkpoint (its bytes, or its journal id) under this session's policy:
   * modules re-imported, recorded definitions re-run, data unpickled inside the worker, capabilities
   * re-attached by id. A checkpoint whose signature or format does not match is refused
   * (CHECKPOINT_INVALID) before any byte reaches the worker. Returns what came back and what did not.
   */
  restore(checkpoint: Pick<Checkpoint, 'bytes'> | Uint8Array | string): Promise<RestoreReport> {
    this.#assertOpen()
    return this.#snapshots.restore(checkpoint)
  }

  /** The report of the last restore into this session, if there was one. */
  get lastRestore(): RestoreReport | undefined {
    return this.#snapshots.lastRestore
  }

  /** The durable session's key, or undefined for a session that is not durable. */
  get key(): string | undefined {
    return this.#durable?.sessionKey
  }

  /** Starts the first worker. The Capsule calls this before handing the session out. */
  start(): Promise<void> {
    return this.#supervisor.start()
  }

  /** The current lifecycle state. */
  get state(): SessionState {
    return this.#supervisor.state
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
    const durable = this.#durable
    if (durable !== undefined) {
      ExecutionQueue.checkArguments(code, options)
      this.#assertOpen()
      return new DeferredExecution((onExecution) => durable.run(code, options, onExecution))
    }
    return this.#enqueue(code, options, true)
  }

  /** Runs `code` to the end and returns its result (`status` tells how it ended). */
  async run(code: string, options: ExecuteOptions = {}): Promise<ExecutionResult> {
    if (this.#durable !== undefined) {
      ExecutionQueue.checkArguments(code, options)
      this.#assertOpen()
      return this.#durable.run(code, options)
    }
    return this.#enqueue(code, options, false).result
  }

  /**
   * Interrupts the running execution (KeyboardInterrupt in Python; its capability calls are
   * cancelled). Code that ignores it is killed after `interruptGraceMs` and the worker restarts,
   * with `stateLost` in the result. Resolves when the execution has ended.
   */
  async interrupt(): Promise<void> {
    const execution = this.#queue.current
    if (!execution || execution.done) return
    this.#supervisor.interrupt(execution)
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
    await this.#supervisor.restart()
  }

  /**
   * Stops accepting work, lets the running and queued executions finish, then shuts the worker down.
   * Idempotent.
   */
  close(): Promise<void> {
    if (!this.#closed) this.#closed = this.#supervisor.close()
    return this.#closed
  }

  /** Ends the session at once: everything pending is rejected with `error`, the worker killed. Idempotent. */
  destroy(error: CapsuleError = new CapsuleError('SESSION_CLOSED', 'the session was destroyed')): void {
    this.#supervisor.destroy(error)
    this.#closed ??= Promise.resolve()
  }

  /** A snapshot: pid, sandbox, level, capabilities, counters, last heartbeat. */
  info(): SessionInfo {
    const worker = this.#supervisor.worker
    const calls = this.#supervisor.calls
    return {
      id: this.id,
      state: this.#supervisor.state,
      pid: worker?.pid,
      workerPid: worker?.hello.worker.pid,
      python: worker?.hello.worker.python,
      codec: worker?.codec,
      sandbox: this.#deps.sandbox,
      level: this.#deps.policy.level,
      capabilities: this.#capabilities.map((spec) => spec.id),
      executions: this.#queue.created,
      queuedExecutions: this.#queue.queued,
      pendingCalls: calls?.calls.size ?? 0,
      pendingCallBytes: calls?.bytes ?? 0,
      calls: { ...this.#router.counters },
      waitingForInput: this.#router.waitingInput(calls) !== undefined,
      lastHeartbeatAt: worker?.lastHeartbeatAt,
      startupMs: worker?.startupMs,
      restarts: this.#supervisor.restarts,
    }
  }

  #enqueue(code: string, options: ExecuteOptions, streaming: boolean): Execution {
    ExecutionQueue.checkArguments(code, options)
    this.#assertOpen()
    const execution = this.#queue.enqueue(code, options, streaming)
    this.#supervisor.pump()
    return execution
  }

  #assertOpen(): void {
    const state = this.#supervisor.state
    if (state === 'closing' || state === 'closed') {
      throw new CapsuleError('SESSION_CLOSED', `session ${this.id} is closed`)
    }
  }
}

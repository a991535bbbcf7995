import type { CapabilityLogger, SecurityLevel } from '@capsule/provider-sdk'
import type { CallDirectory } from '../calls/callDirectory.js'
import type { CallPipeline } from '../calls/callPipeline.js'
import type { DurableRunner } from '../durable/durableRunner.js'
import type { PromiseStore } from '../promises/promiseStore.js'
import type { HostMessage } from '../protocol/messages.js'
import type { SecurityPolicy } from '../security/securityPolicy.js'
import type { Clock } from '../util/clock.js'
import type { WorkerConnection, WorkerConnectionHandlers } from '../worker/workerConnection.js'
import type { Execution, ExecutionInputHandler } from './execution.js'
import type { InputPromptsDeps } from './inputPrompts.js'
import type { Limits } from './limits.js'
import type { PendingCallBudget } from './pendingCallBudget.js'
import type { Session } from './session.js'

/** Answers `input()` prompts: return the text (or a promise of it), or undefined to leave it pending. */
export type InputHandler = ExecutionInputHandler

/** Options of one execution. */
export interface ExecuteOptions {
  /** When another execution is running or queued: wait in order (default) or fail with SESSION_BUSY. */
  wait?: boolean
  /** Overrides the session's `executeTimeoutMs` for this execution. */
  timeoutMs?: number
  /** Answers `input()` during this execution. */
  onInput?: InputHandler
  /**
   * Durable sessions only: the same key again in the session returns the recorded outcome and runs
   * nothing; the same key with other code is a CONFLICT.
   */
  idempotencyKey?: string
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

/** Starts one worker for a session: a real process ({@link launchWorker}) or, in tests, a scripted one. */
export type StartWorker = (
  init: Extract<HostMessage, { type: 'init' }>,
  handlers: WorkerConnectionHandlers,
) => Promise<WorkerConnection>

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
  /**
   * Makes the session durable: builds its journal side, given a way to run a cell in the session's own
   * queue. `run` and `execute` then go through the journal.
   */
  /** Durable sessions: where `input()` questions are also put, so any process on the journal may answer. */
  journalInput?: InputPromptsDeps['journal']
  durable?: (
    execute: (code: string, options: ExecuteOptions, streaming: boolean) => Execution,
  ) => DurableRunner
}

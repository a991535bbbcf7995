import type { SecurityLevel } from '@capsule/provider-sdk'
import type { HostMessage } from '../protocol/messages.js'
import type { WorkerConnection, WorkerConnectionHandlers } from '../worker/workerConnection.js'
import type { ExecutionInputHandler } from './execution.js'

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

// Pending ─handler returns | deadline | cancel | answered from outside→ Settled (the first wins; later ones are ignored)
import { CapabilityError, type CapabilityErrorCode, type CapabilityProgress } from '@capsule/provider-sdk'
import type { PromiseRecord } from '../promises/promiseStore.js'
import type { Execution } from '../session/execution.js'
import type { Deadline, DeadlineQueue } from './deadlineQueue.js'

/** How a call ended, as Python will see it. */
export type CallOutcome =
  | { ok: true; value: unknown }
  | { ok: false; code: CapabilityErrorCode; message: string }

/** What settled a call: the handler's value, or what it threw (or the deadline, a cancel, an outside answer). */
export type CallSettlement = { value: unknown } | { error: unknown }

/** An `input()` the call's handler put to the host. */
export interface InputAsk {
  prompt: string
  password: boolean
  /** The `inputTimeoutMs` timer, once the question has been put to someone. */
  timer: unknown
}

/**
 * Per-call callbacks of whoever made the call (the session): they live on the call, like MCP's
 * per-request progress handlers, so nothing looks the requester up by name.
 */
export interface CallHooks {
  /** The handler reported progress. */
  onProgress(call: PendingCall, update: CapabilityProgress): void
  /** The handler asks the host a question (`input()`); `call.input` holds it. */
  onInput(call: PendingCall): void
  /** A call that asked a question has settled (answered, cancelled, timed out): its wait is over. */
  onInputSettled(call: PendingCall): void
}

/** Who made a call and where it came from. Everything but the ids came from the untrusted worker. */
export interface PendingCallInit {
  id: string
  protocolId: number
  capability: string
  args: Record<string, unknown>
  frameBytes: number
  sessionId: string
  execution: Execution | null
  createdAt: number
  hooks?: CallHooks
}

/**
 * The one record of a capability call in flight: what was asked, who asked, its deadline, its abort signal
 * and how it settled. The session's call table, the Capsule's call directory and the deadline queue all
 * hold this same object; nothing else keeps call state.
 */
export class PendingCall implements Deadline {
  readonly id: string
  readonly protocolId: number
  readonly capability: string
  readonly args: Record<string, unknown>
  readonly frameBytes: number
  readonly sessionId: string
  /** The running execution the call belongs to; null for background threads and forged frames. */
  readonly execution: Execution | null
  readonly createdAt: number
  readonly hooks: CallHooks | undefined
  /** `input` once the handler has asked the host a question. */
  kind: 'call' | 'input' = 'call'
  /** The question, once asked. */
  input: InputAsk | undefined
  /**
   * Set by a durable recorder: the key the journal knows this call by, the same on every run of it (the
   * handler sees it as `ctx.idempotencyKey`).
   */
  idempotencyKey: string | undefined
  deadline = Number.POSITIVE_INFINITY
  deadlineSlot = -1
  #timeoutMs = 0
  #deadlines: DeadlineQueue | undefined
  #settlement: CallSettlement | undefined
  #handlerDone = false
  #controller: AbortController | undefined
  /** Handlers' `ctx.onCancel` listeners, until the call ends. */
  #cancelListeners: Array<(reason: unknown) => void> | undefined
  /** Set when the call ended around its handler; the reason is made when someone asks for it. */
  #cancelled = false
  #cancelReason: CapabilityError | undefined
  #continuation: ((settlement: CallSettlement) => void) | undefined
  #redactedArgs: unknown

  constructor(init: PendingCallInit) {
    this.id = init.id
    this.protocolId = init.protocolId
    this.capability = init.capability
    this.args = init.args
    this.frameBytes = init.frameBytes
    this.sessionId = init.sessionId
    this.execution = init.execution
    this.createdAt = init.createdAt
    this.hooks = init.hooks
  }

  /** The execution's id, or null. */
  get executionId(): string | null {
    return this.execution?.id ?? null
  }

  /** Whether the call has settled. */
  get settled(): boolean {
    return this.#settlement !== undefined
  }

  /** How it settled, once it has. */
  get settlement(): CallSettlement | undefined {
    return this.#settlement
  }

  /** Whether the handler returned or threw (as opposed to the call ending around it). */
  get handlerDone(): boolean {
    return this.#handlerDone
  }

  /**
   * The handler's abort signal, created on first use: most handlers never look at it. Made after the
   * call ended around its handler, it comes already aborted.
   */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      if (this.#cancelled) this.#controller.abort(this.#reason())
    }
    return this.#controller.signal
  }

  /**
   * `ctx.onCancel`: calls `listener` once, with the reason, when the call ends before its handler does
   * (at once if it already has); returns a function that stops listening. No AbortController.
   */
  onCancel(listener: (reason: unknown) => void): () => void {
    if (this.#cancelled) {
      hear(listener, this.#reason())
      return noop
    }
    if (this.#settlement !== undefined) return noop
    this.#cancelListeners ??= []
    const listeners = this.#cancelListeners
    listeners.push(listener)
    return () => {
      const index = listeners.indexOf(listener)
      if (index !== -1) listeners.splice(index, 1)
    }
  }

  /** The arguments redacted for hosts (events and audit), computed once whoever asks first. */
  redactedArgs(redact: () => unknown): unknown {
    if (this.#redactedArgs === undefined) this.#redactedArgs = redact()
    return this.#redactedArgs
  }

  /** Arms the call's deadline in `queue`: at `now + timeoutMs` it settles with TIMEOUT. */
  startDeadline(queue: DeadlineQueue, now: number, timeoutMs: number): void {
    this.#timeoutMs = timeoutMs
    this.deadline = now + timeoutMs
    // Settled while its handler was starting (an input() nobody can answer): nothing to watch.
    if (this.#settlement !== undefined) return
    this.#deadlines = queue
    queue.add(this)
  }

  expire(): void {
    this.settle({
      error: new CapabilityError('TIMEOUT', `${this.capability} did not finish within ${this.#timeoutMs} ms`),
    })
  }

  /** Settles with what the handler returned or threw. */
  settleFromHandler(settlement: CallSettlement): boolean {
    if (this.#settlement !== undefined) return false
    this.#handlerDone = true
    return this.settle(settlement)
  }

  /**
   * Settles the call; false (and nothing done) when it already has. A handler still at work (the call
   * was cancelled, timed out or answered from outside) is told to stop through its signal.
   */
  settle(settlement: CallSettlement): boolean {
    if (this.#settlement !== undefined) return false
    this.#settlement = settlement
    this.#deadlines?.remove(this)
    if (this.input !== undefined) this.hooks?.onInputSettled(this)
    const continuation = this.#continuation
    this.#continuation = undefined
    continuation?.(settlement)
    if (!this.#handlerDone) {
      this.#cancelled = true
      this.#controller?.abort(this.#reason())
      const listeners = this.#cancelListeners
      this.#cancelListeners = undefined
      if (listeners) for (const listener of listeners) hear(listener, this.#reason())
    }
    return true
  }

  #reason(): CapabilityError {
    this.#cancelReason ??= new CapabilityError('CANCELLED', 'the call has ended')
    return this.#cancelReason
  }

  /** Ends the call with CANCELLED (interrupt, restart, close, Python's call_cancel, worker death). */
  cancel(reason: string): boolean {
    return this.settle({ error: new CapabilityError('CANCELLED', reason) })
  }

  /** Resolves once settled (at once when it already is). */
  whenSettled(): Promise<CallSettlement> {
    const settlement = this.#settlement
    if (settlement !== undefined) return Promise.resolve(settlement)
    return new Promise((resolve) => {
      this.#continuation = resolve
    })
  }

  /** The handler asks the host a question: the call becomes an `input` promise and its requester hears of it. */
  ask(prompt: string, password: boolean): void {
    if (this.#settlement !== undefined) return
    this.kind = 'input'
    this.input = { prompt, password, timer: undefined }
    this.hooks?.onInput(this)
  }

  /** The call as `capsule.promises.list()` shows it: a snapshot, never the live record. */
  toRecord(): PromiseRecord {
    return {
      id: this.id,
      kind: this.kind,
      sessionId: this.sessionId,
      executionId: this.executionId,
      capability: this.capability,
      createdAt: this.createdAt,
      deadline: Number.isFinite(this.deadline) ? this.deadline : null,
      state: this.#settlement === undefined ? 'pending' : 'resolved',
    }
  }
}

function noop(): void {}

// A provider's listener that throws must not stop the others, nor the teardown that is settling the call
// (a session close, the deadline queue): what it throws is dropped, as its call has already ended.
function hear(listener: (reason: unknown) => void, reason: unknown): void {
  try {
    listener(reason)
  } catch {}
}

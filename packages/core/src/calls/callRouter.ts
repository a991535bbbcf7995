import { CapsuleError, isCapsuleError } from '../errors.js'
import type { CallMessage, HostMessage } from '../protocol/messages.js'
import type { SecurityPolicy } from '../security/securityPolicy.js'
import type { Execution } from '../session/execution.js'
import type { Limits } from '../session/limits.js'
import type { PendingCallBudget } from '../session/pendingCallBudget.js'
import type { Clock } from '../util/clock.js'
import { redactedArgsOf } from './callAudit.js'
import type { CallDirectory } from './callDirectory.js'
import type { CallPipeline } from './callPipeline.js'
import { type CallHooks, type CallOutcome, PendingCall } from './pendingCall.js'

/** What the router needs of the worker that sent a call: somewhere to answer, and its read side. */
export interface CallChannel {
  readonly isReady: boolean
  readonly isPaused: boolean
  send(message: HostMessage): boolean
  pauseReading(): void
  resumeReading(): void
  kill(reason: CapsuleError): void
}

/**
 * The calls one worker has open, keyed by the worker's ids. Each worker gets its own table, so a new
 * worker's ids never meet an old one's, and an old worker's late answers go to the old worker only.
 */
export class CallTable {
  readonly channel: CallChannel
  readonly calls = new Map<number, PendingCall>()
  /** Bytes of call frames the table holds (see `maxPendingCallBytes`). */
  bytes = 0

  constructor(channel: CallChannel) {
    this.channel = channel
  }
}

/** What a session's router is built from. */
export interface CallRouterDeps {
  sessionId: string
  policy: SecurityPolicy
  pipeline: CallPipeline
  directory: CallDirectory
  limits: Pick<Limits, 'maxPendingCalls' | 'maxPendingCallBytes'>
  /** The Capsule's budget of bytes held by pending calls, shared by its sessions. */
  budget?: PendingCallBudget
  /** The session's per-call callbacks (input, progress). */
  hooks: CallHooks
  clock: Clock
}

/**
 * Takes a session's call frames to the pipeline and its answers back: admission (the Capsule-wide byte
 * budget, the duplicate-id check), backpressure on the worker's pipe, the `call` event, the answer frame,
 * and the tallies `session.info()` shows.
 */
export class CallRouter {
  readonly counters = { allowed: 0, denied: 0, failed: 0 }
  readonly #deps: CallRouterDeps
  #seq = 0

  constructor(deps: CallRouterDeps) {
    this.#deps = deps
  }

  /** A fresh table for a new worker. */
  openTable(channel: CallChannel): CallTable {
    return new CallTable(channel)
  }

  /** A call frame arrived; `execution` is the running execution when the frame names it, else null. */
  onCall(table: CallTable, message: CallMessage, frameBytes: number, execution: Execution | null): void {
    const { channel } = table
    if (table.calls.has(message.id)) {
      channel.kill(
        new CapsuleError('PROTOCOL_ERROR', `the worker reused call id ${message.id} while it was pending`, {
          details: { type: 'call', id: message.id },
        }),
      )
      return
    }
    const { limits, budget, directory, policy } = this.#deps
    // The Capsule-wide cap refuses the call before any work: other sessions' calls hold the bytes.
    if (budget && !budget.tryReserve(frameBytes)) {
      this.counters.failed += 1
      channel.send({
        type: 'call_error',
        id: message.id,
        code: 'LIMIT_EXCEEDED',
        message: `the host holds ${budget.usedBytes} bytes of pending capability calls, the most it allows (maxCapsulePendingCallBytes ${budget.maxBytes}); retry when some have finished`,
      })
      return
    }
    this.#seq += 1
    const call = new PendingCall({
      id: `${this.#deps.sessionId}:c${this.#seq}`,
      protocolId: message.id,
      capability: message.capability,
      args: message.args,
      frameBytes,
      sessionId: this.#deps.sessionId,
      execution,
      createdAt: this.#deps.clock.now(),
      hooks: this.#deps.hooks,
    })
    table.calls.set(message.id, call)
    table.bytes += frameBytes
    directory.add(call)
    // Backpressure: a flood of calls (or a few huge ones) parks the worker on a full pipe instead of
    // filling host memory.
    if (table.calls.size >= limits.maxPendingCalls || table.bytes >= limits.maxPendingCallBytes) {
      channel.pauseReading()
    }
    if (execution?.streaming) {
      execution.push({
        type: 'call',
        callId: call.id,
        capability: call.capability,
        args: redactedArgsOf(call, policy.decide(call.capability).capability),
      })
    }
    let outcome: CallOutcome | Promise<CallOutcome>
    try {
      outcome = this.#deps.pipeline.invoke(call, policy)
    } catch (cause) {
      this.#failed(table, call, cause)
      return
    }
    if (outcome instanceof Promise) {
      outcome.then(
        (settled) => this.#answer(table, call, settled),
        (cause) => this.#failed(table, call, cause),
      )
    } else {
      this.#answer(table, call, outcome)
    }
  }

  /** Python cancelled call `id` (its task was cancelled). */
  onCancel(table: CallTable, id: number): void {
    table.calls.get(id)?.cancel('Python cancelled the call')
  }

  /**
   * Cancels the table's calls (of one execution, when given). Each call then runs to its answer through
   * the pipeline as usual: the handler's signal aborts, the audit records `cancelled`.
   */
  cancel(table: CallTable, reason: string, execution?: Execution): void {
    for (const call of [...table.calls.values()]) {
      if (execution === undefined || call.execution === execution) call.cancel(reason)
    }
  }

  /** An `input()` waiting for its answer: of `execution` when given, else any of the table's. */
  waitingInput(table: CallTable | undefined, execution?: Execution): PendingCall | undefined {
    if (!table) return undefined
    for (const call of table.calls.values()) {
      if (call.input === undefined || call.settled) continue
      if (execution === undefined || call.execution === execution) return call
    }
    return undefined
  }

  #release(table: CallTable, call: PendingCall): void {
    if (table.calls.get(call.protocolId) !== call) return
    table.calls.delete(call.protocolId)
    table.bytes -= call.frameBytes
    this.#deps.budget?.release(call.frameBytes)
    this.#deps.directory.remove(call)
    const { maxPendingCalls, maxPendingCallBytes } = this.#deps.limits
    const { channel } = table
    if (
      channel.isPaused &&
      table.calls.size <= maxPendingCalls / 2 &&
      table.bytes <= maxPendingCallBytes / 2
    ) {
      channel.resumeReading()
    }
  }

  #answer(table: CallTable, call: PendingCall, outcome: CallOutcome): void {
    this.#release(table, call)
    if (outcome.ok) this.counters.allowed += 1
    else if (outcome.code === 'DENIED') this.counters.denied += 1
    else this.counters.failed += 1
    const { channel } = table
    if (!channel.isReady) return
    const id = call.protocolId
    try {
      if (outcome.ok) channel.send({ type: 'call_result', id, value: outcome.value })
      else channel.send({ type: 'call_error', id, code: outcome.code, message: outcome.message })
    } catch (error) {
      const message = isCapsuleError(error) ? error.message : String(error)
      channel.send({
        type: 'call_error',
        id,
        code: 'LIMIT_EXCEEDED',
        message: `the result is too large to send: ${message}`,
      })
    }
  }

  #failed(table: CallTable, call: PendingCall, cause: unknown): void {
    call.cancel('the host failed to answer the call')
    this.#release(table, call)
    table.channel.kill(
      new CapsuleError('PROTOCOL_ERROR', `answering call ${call.protocolId} failed: ${String(cause)}`, {
        cause,
      }),
    )
  }
}

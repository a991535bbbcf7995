import {
  type CapabilityErrorCode,
  type CapabilityLogger,
  isCapabilityError,
  type SecurityLevel,
} from '@capsule/provider-sdk'
import type { AuditLog } from '../audit/auditLog.js'
import { redactErrorMessage } from '../audit/redactErrorMessage.js'
import type { RegisteredCapability } from '../capabilities/capabilityRegistry.js'
import { isCapsuleError } from '../errors.js'
import type { PromiseState } from '../promises/promiseStore.js'
import type { PolicyDenial, SecurityPolicy } from '../security/securityPolicy.js'
import type { Clock } from '../util/clock.js'
import { CallAudit } from './callAudit.js'
import { type CallRecorder, noCallRecorder } from './callRecorder.js'
import { DeadlineQueue } from './deadlineQueue.js'
import { HandlerContext } from './handlerContext.js'
import type { CallOutcome, PendingCall } from './pendingCall.js'

/** What the pipeline needs (one per Capsule). */
export interface CallPipelineDeps {
  audit: AuditLog
  clock: Clock
  logger: CapabilityLogger
  /** The deadline of a capability that declares no `timeoutMs`. */
  callTimeoutMs: number
  /** The `record` step; records nothing by default. */
  recorder?: CallRecorder
}

type FinalState = Exclude<PromiseState, 'pending'>

const UNAUDITED: CallOutcome = {
  ok: false,
  code: 'UNAVAILABLE',
  message: 'the audit log is unavailable, so the call was refused',
}

/**
 * Runs one capability call as named steps, each once:
 *
 *   decide → audit → validate input → record (before) → run under deadline → validate output → record (after) → audit
 *
 * A denied or invalid call never reaches its handler. A handler that returns a plain value is answered in
 * the same turn (no promise, no timer); one that returns a promise runs under the call's deadline, in the
 * Capsule's one {@link DeadlineQueue}. Whoever settles the call first wins: the handler, the deadline, or
 * the session (interrupt, close, Python's cancel, an `input()` answer from outside).
 */
export class CallPipeline {
  readonly #audit: CallAudit
  readonly #clock: Clock
  readonly #logger: CapabilityLogger
  readonly #callTimeoutMs: number
  readonly #recorder: CallRecorder
  readonly #deadlines: DeadlineQueue

  constructor(deps: CallPipelineDeps) {
    this.#audit = new CallAudit(deps.audit, deps.clock, deps.logger)
    this.#clock = deps.clock
    this.#logger = deps.logger
    this.#callTimeoutMs = deps.callTimeoutMs
    this.#recorder = deps.recorder ?? noCallRecorder
    this.#deadlines = new DeadlineQueue(deps.clock)
  }

  /** How many calls wait on a deadline now. */
  get pendingDeadlines(): number {
    return this.#deadlines.size
  }

  /** Runs `call` under `policy`. Synchronous when the handler is; never throws for what a call does. */
  invoke(call: PendingCall, policy: SecurityPolicy): CallOutcome | Promise<CallOutcome> {
    // decide
    const decision = policy.decide(call.capability)
    if (!decision.allowed) return this.#refuse(call, decision)
    const capability = decision.capability
    // audit: fail closed, before any work
    const auditing = this.#audit.enabled
    const startedAt = auditing ? this.#audit.now() : 0
    if (auditing && !this.#audit.granted(call, capability, decision.rule)) return UNAUDITED
    // validate input
    const parsed = capability.definition.input.safeParse(call.args)
    if (!parsed.success) {
      return this.#audited(call, startedAt, 'rejected', {
        ok: false,
        code: 'INVALID_ARGUMENT',
        message: summariseIssues(parsed.error.issues),
      })
    }
    // record: a recorded outcome stands in for running the handler
    const recorded = this.#recorder.beforeRun(call)
    if (recorded !== undefined) {
      return Promise.resolve(recorded).then((outcome) =>
        outcome === undefined
          ? this.#run(call, capability, parsed.data, policy.level, startedAt)
          : this.#audited(call, startedAt, stateOfOutcome(outcome), outcome),
      )
    }
    return this.#run(call, capability, parsed.data, policy.level, startedAt)
  }

  #refuse(call: PendingCall, decision: PolicyDenial): CallOutcome {
    if (this.#audit.enabled) this.#audit.denied(call, decision.capability, decision.rule)
    return {
      ok: false,
      code: 'DENIED',
      message:
        decision.rule === 'unknown'
          ? `unknown capability ${JSON.stringify(call.capability)}`
          : `${call.capability} is not granted to this session (${decision.rule})`,
    }
  }

  // run under deadline
  #run(
    call: PendingCall,
    capability: RegisteredCapability,
    args: unknown,
    level: SecurityLevel,
    startedAt: number,
  ): CallOutcome | Promise<CallOutcome> {
    // Settled already (cancelled while a recorder was deciding): the handler never starts.
    if (call.settled) return this.#settled(call, capability, startedAt)
    const timeoutMs = capability.definition.timeoutMs ?? this.#callTimeoutMs
    const now = this.#clock.now()
    let returned: unknown
    try {
      returned = capability.definition.handler(
        args as never,
        new HandlerContext(call, level, now + timeoutMs, this.#logger),
      )
    } catch (error) {
      call.settleFromHandler({ error })
      return this.#settled(call, capability, startedAt)
    }
    if (!isThenable(returned)) {
      call.settleFromHandler({ value: returned })
      return this.#settled(call, capability, startedAt)
    }
    // Only a call that waits needs its deadline watched.
    call.startDeadline(this.#deadlines, now, timeoutMs)
    Promise.resolve(returned).then(
      (value) => call.settleFromHandler({ value }),
      (error) => call.settleFromHandler({ error }),
    )
    return call.whenSettled().then(() => this.#settled(call, capability, startedAt))
  }

  // validate output, or map what settled the call to what Python sees
  #settled(
    call: PendingCall,
    capability: RegisteredCapability,
    startedAt: number,
  ): CallOutcome | Promise<CallOutcome> {
    const settlement = call.settlement!
    if ('value' in settlement) {
      const checked = capability.definition.output.safeParse(settlement.value)
      if (checked.success) return this.#finish(call, startedAt, 'resolved', { ok: true, value: checked.data })
      const detail = `output failed its schema: ${summariseIssues(checked.error.issues)}`
      this.#logger.error(`${call.capability} returned a value that does not match its output schema`, {
        callId: call.id,
        capability: call.capability,
        detail,
      })
      return this.#finish(call, startedAt, 'rejected', internal(call), detail)
    }
    const error = settlement.error
    if (isCapabilityError(error)) {
      // A provider's own rule refused the call: a decision too, recorded as the policy's are. (Or the host
      // refused it from outside, with capsule.promises.reject(id, message, 'DENIED').)
      if (error.code === 'DENIED' && this.#audit.enabled) {
        const { rule, option } = error.details ?? {}
        this.#audit.denied(
          call,
          capability,
          !call.handlerDone
            ? 'host'
            : typeof rule === 'string' && rule !== ''
              ? `provider:${rule}`
              : 'provider',
          typeof option === 'string' && option !== '' ? option : undefined,
        )
      }
      return this.#finish(call, startedAt, stateOf(error.code), {
        ok: false,
        code: error.code,
        message: error.message,
      })
    }
    if (isCapsuleError(error, 'TIMEOUT')) {
      return this.#finish(call, startedAt, 'timed_out', {
        ok: false,
        code: 'TIMEOUT',
        message: error.message,
      })
    }
    // Redacted like the arguments: a handler's message may quote what it was given, secrets included.
    const detail = redactErrorMessage(error, call.args, capability.secretArgs)
    this.#logger.error(`${call.capability} failed`, { callId: call.id, capability: call.capability, detail })
    return this.#finish(call, startedAt, 'rejected', internal(call), detail)
  }

  // record (after), then audit the outcome
  #finish(
    call: PendingCall,
    startedAt: number,
    state: FinalState,
    outcome: CallOutcome,
    detail?: string,
  ): CallOutcome | Promise<CallOutcome> {
    const recording = this.#recorder.afterSettle(call, outcome)
    if (recording !== undefined) {
      return Promise.resolve(recording).then((replaced) =>
        replaced === undefined || replaced === null
          ? this.#audited(call, startedAt, state, outcome, detail)
          : this.#audited(call, startedAt, stateOfOutcome(replaced), replaced, detail),
      )
    }
    return this.#audited(call, startedAt, state, outcome, detail)
  }

  #audited(
    call: PendingCall,
    startedAt: number,
    state: FinalState,
    outcome: CallOutcome,
    detail?: string,
  ): CallOutcome {
    if (this.#audit.enabled) this.#audit.outcome(call, state, startedAt, outcome, detail)
    return outcome
  }
}

function internal(call: PendingCall): CallOutcome {
  return { ok: false, code: 'INTERNAL', message: `internal error in ${call.capability}` }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}

function stateOf(code: CapabilityErrorCode): FinalState {
  if (code === 'CANCELLED') return 'cancelled'
  if (code === 'TIMEOUT') return 'timed_out'
  return 'rejected'
}

function stateOfOutcome(outcome: CallOutcome): FinalState {
  return outcome.ok ? 'resolved' : stateOf(outcome.code)
}

/** A short, safe description of zod issues: `path: expected string, received number`. */
export function summariseIssues(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
): string {
  return issues
    .slice(0, 3)
    .map((issue) =>
      issue.path.length ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message,
    )
    .join('; ')
}

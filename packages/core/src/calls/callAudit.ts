import type { CapabilityLogger } from '@capsule/provider-sdk'
import { type AuditEntry, type AuditLog, approximateSize, redactForAudit } from '../audit/auditLog.js'
import type { RegisteredCapability } from '../capabilities/capabilityRegistry.js'
import type { PromiseState } from '../promises/promiseStore.js'
import type { Clock } from '../util/clock.js'
import type { CallOutcome, PendingCall } from './pendingCall.js'

const NO_SECRETS: ReadonlySet<string> = new Set()

/** A call's arguments as hosts may see them (events, audit): redacted once per call, whoever asks first. */
export function redactedArgsOf(call: PendingCall, capability: RegisteredCapability | undefined): unknown {
  return call.redactedArgs(() => redactForAudit(call.args, capability?.secretArgs ?? NO_SECRETS))
}

/**
 * The audit step of the call pipeline: a `decision` entry before any work and an `outcome` entry after.
 * With no sink it does nothing at all (`enabled` is false and the pipeline skips it: no entry is built, no
 * argument redacted, no clock read).
 */
export class CallAudit {
  readonly #log: AuditLog
  readonly #clock: Clock
  readonly #logger: CapabilityLogger

  constructor(log: AuditLog, clock: Clock, logger: CapabilityLogger) {
    this.#log = log
    this.#clock = clock
    this.#logger = logger
  }

  /** Whether any sink listens. */
  get enabled(): boolean {
    return this.#log.enabled
  }

  /** The clock's now, for an outcome's duration. */
  now(): number {
    return this.#clock.now()
  }

  /** Records a grant; false when a sink threw, and the call must then be refused (fail closed). */
  granted(call: PendingCall, capability: RegisteredCapability, rule: string): boolean {
    try {
      this.#log.record(this.#decision(call, 'allowed', rule, redactedArgsOf(call, capability)))
      return true
    } catch (error) {
      this.#logger.error('audit sink failed; refusing the call', {
        ...where(call),
        error: String(error),
      })
      return false
    }
  }

  /** Records a refusal (the policy's, a provider's rule, or the host's). */
  denied(
    call: PendingCall,
    capability: RegisteredCapability | undefined,
    rule: string,
    option?: string,
  ): void {
    const entry = this.#decision(call, 'denied', rule, redactedArgsOf(call, capability))
    if (option !== undefined) entry.option = option
    this.#try(entry)
  }

  /** Records how the call ended. */
  outcome(
    call: PendingCall,
    state: Exclude<PromiseState, 'pending'>,
    startedAt: number,
    outcome: CallOutcome,
    detail: string | undefined,
  ): void {
    const now = this.#clock.now()
    this.#try({
      ...where(call),
      time: new Date(now).toISOString(),
      type: 'outcome',
      state,
      durationMs: now - startedAt,
      bytesIn: call.frameBytes,
      bytesOut: outcome.ok ? approximateSize(outcome.value) : 0,
      errorCode: outcome.ok ? undefined : outcome.code,
      errorDetail: detail,
    })
  }

  #decision(call: PendingCall, decision: 'allowed' | 'denied', rule: string, args: unknown): AuditEntry {
    return {
      ...where(call),
      time: new Date(this.#clock.now()).toISOString(),
      type: 'decision',
      decision,
      rule,
      args,
    }
  }

  #try(entry: AuditEntry): void {
    try {
      this.#log.record(entry)
    } catch (error) {
      this.#logger.error('audit sink failed', { callId: entry.callId, error: String(error) })
    }
  }
}

function where(call: PendingCall) {
  return {
    sessionId: call.sessionId,
    executionId: call.executionId,
    callId: call.id,
    capability: call.capability,
  }
}

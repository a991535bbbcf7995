import {
  type CapabilityContext,
  CapabilityError,
  type CapabilityErrorCode,
  type CapabilityLogger,
  type CapabilityProgress,
  isCapabilityError,
  type SecurityLevel,
} from '@capsule/provider-sdk'
import { type AuditLog, approximateSize, redactForAudit } from '../audit/auditLog.js'
import { redactErrorMessage } from '../audit/redactErrorMessage.js'
import { isCapsuleError } from '../errors.js'
import type { PromiseState, PromiseStore } from '../promises/promiseStore.js'
import type { SecurityPolicy } from '../security/securityPolicy.js'
import type { Clock } from '../util/clock.js'
import type { CapabilityRegistry } from './capabilityRegistry.js'
import { INPUT_CAPABILITY_ID } from './inputProvider.js'

/** One capability call as the session hands it over. Everything in it came from the untrusted worker. */
export interface CallRequest {
  callId: string
  capability: string
  args: Record<string, unknown>
  /** Size of the call's frame: what the audit reports as `bytesIn` (measured, never walked). */
  argBytes?: number
  /** The arguments already redacted by the caller, so they are redacted once per call. */
  redactedArgs?: unknown
  sessionId: string
  executionId: string | null
  level: SecurityLevel
  policy: SecurityPolicy
  onProgress?: (update: CapabilityProgress) => void
}

/** How a call ended, as Python will see it. */
export type CallOutcome =
  | { ok: true; value: unknown }
  | { ok: false; code: CapabilityErrorCode; message: string }

/** What the invoker needs. */
export interface CapabilityInvokerDeps {
  registry: CapabilityRegistry
  store: PromiseStore
  audit: AuditLog
  clock: Clock
  logger: CapabilityLogger
  callTimeoutMs: number
}

/**
 * Runs capability calls: policy decision, fail-closed audit, argument validation, the handler under a
 * deadline and an abort signal, output validation, and the outcome entry. A denied or invalid call
 * never reaches its handler.
 */
export class CapabilityInvoker {
  readonly #deps: CapabilityInvokerDeps

  constructor(deps: CapabilityInvokerDeps) {
    this.#deps = deps
  }

  /** A call's arguments as hosts may show them: secrets redacted, large values summarised. */
  redactArgs(capabilityId: string, args: Record<string, unknown>): unknown {
    return redactForAudit(args, new Set(this.#deps.registry.get(capabilityId)?.definition.secretArgs ?? []))
  }

  async invoke(request: CallRequest): Promise<CallOutcome> {
    const { registry, store, audit, clock, logger } = this.#deps
    const started = clock.now()
    const capability = registry.get(request.capability)
    const base = {
      sessionId: request.sessionId,
      executionId: request.executionId,
      callId: request.callId,
      capability: request.capability,
    }
    const auditing = audit.enabled
    const auditArgs = auditing
      ? (request.redactedArgs ??
        redactForAudit(request.args, new Set(capability?.definition.secretArgs ?? [])))
      : undefined
    const decision = request.policy.decide(request.capability)
    if (!decision.allowed || !capability) {
      const message =
        decision.rule === 'unknown'
          ? `unknown capability ${JSON.stringify(request.capability)}`
          : `${request.capability} is not granted to this session (${decision.rule})`
      this.#tryAudit({
        ...base,
        time: iso(clock),
        type: 'decision',
        decision: 'denied',
        rule: decision.rule,
        args: auditArgs,
      })
      return { ok: false, code: 'DENIED', message }
    }
    try {
      if (auditing) {
        audit.record({
          ...base,
          time: iso(clock),
          type: 'decision',
          decision: 'allowed',
          rule: decision.rule,
          args: auditArgs,
        })
      }
    } catch (error) {
      logger.error('audit sink failed; refusing the call', { ...base, error: String(error) })
      return {
        ok: false,
        code: 'UNAVAILABLE',
        message: 'the audit log is unavailable, so the call was refused',
      }
    }

    const finish = (
      state: Exclude<PromiseState, 'pending'>,
      outcome: CallOutcome,
      detail?: string,
    ): CallOutcome => {
      if (!auditing) return outcome
      this.#tryAudit({
        ...base,
        time: iso(clock),
        type: 'outcome',
        state,
        durationMs: clock.now() - started,
        bytesIn: request.argBytes ?? approximateSize(request.args),
        bytesOut: outcome.ok ? approximateSize(outcome.value) : 0,
        errorCode: outcome.ok ? undefined : outcome.code,
        errorDetail: detail,
      })
      return outcome
    }

    const parsedArgs = capability.definition.input.safeParse(request.args)
    if (!parsedArgs.success) {
      return finish('rejected', {
        ok: false,
        code: 'INVALID_ARGUMENT',
        message: summariseIssues(parsedArgs.error.issues),
      })
    }

    // Created on first use of ctx.signal: most handlers finish without looking at it.
    let controller: AbortController | undefined
    const timeoutMs = capability.definition.timeoutMs ?? this.#deps.callTimeoutMs
    const deadline = clock.now() + timeoutMs
    let handlerDone = false
    let internalDetail: string | undefined
    // Whoever settles first wins: the handler, the deadline, or the session cancelling the call
    // (interrupt, close, call_cancel, worker death) or answering it from outside (input()).
    const pending = store.create({
      ...base,
      id: request.callId,
      kind: request.capability === INPUT_CAPABILITY_ID ? 'input' : 'call',
      deadline,
      onExpire: () =>
        store.settle(request.callId, 'timed_out', {
          error: new CapabilityError(
            'TIMEOUT',
            `${request.capability} did not finish within ${timeoutMs} ms`,
          ),
        }),
    })
    const context: CapabilityContext = {
      get signal() {
        controller ??= new AbortController()
        return controller.signal
      },
      deadline,
      sessionId: request.sessionId,
      executionId: request.executionId,
      callId: request.callId,
      capabilityId: request.capability,
      level: request.level,
      get log() {
        return childLogger(logger, base)
      },
      progress: (update) => request.onProgress?.(update),
    }
    Promise.resolve()
      .then(() => capability.definition.handler(parsedArgs.data, context))
      .then(
        (value) => {
          handlerDone = true
          store.settle(request.callId, 'resolved', { value })
        },
        (error) => {
          handlerDone = true
          store.settle(request.callId, 'rejected', { error })
        },
      )

    try {
      const value = await pending
      const checked = capability.definition.output.safeParse(value)
      if (!checked.success) {
        internalDetail = `output failed its schema: ${summariseIssues(checked.error.issues)}`
        logger.error(`${request.capability} returned a value that does not match its output schema`, {
          ...base,
          detail: internalDetail,
        })
        return finish(
          'rejected',
          { ok: false, code: 'INTERNAL', message: `internal error in ${request.capability}` },
          internalDetail,
        )
      }
      return finish('resolved', { ok: true, value: checked.data })
    } catch (error) {
      if (isCapabilityError(error)) {
        // A provider's own rule refused the call: that is a decision too, recorded as the policy's are.
        // (Or the host refused it from outside, with capsule.promises.reject(id, message, 'DENIED').)
        if (error.code === 'DENIED' && auditing) {
          const { rule, option } = error.details ?? {}
          this.#tryAudit({
            ...base,
            time: iso(clock),
            type: 'decision',
            decision: 'denied',
            rule: !handlerDone
              ? 'host'
              : typeof rule === 'string' && rule !== ''
                ? `provider:${rule}`
                : 'provider',
            ...(typeof option === 'string' && option !== '' ? { option } : {}),
            args: auditArgs,
          })
        }
        return finish(stateOf(error.code), { ok: false, code: error.code, message: error.message })
      }
      if (isCapsuleError(error, 'TIMEOUT'))
        return finish('timed_out', { ok: false, code: 'TIMEOUT', message: error.message })
      // Redacted like the arguments: a handler's message may quote what it was given, secrets included.
      internalDetail = redactErrorMessage(
        error,
        request.args,
        new Set(capability.definition.secretArgs ?? []),
      )
      logger.error(`${request.capability} failed`, { ...base, detail: internalDetail })
      return finish(
        'rejected',
        { ok: false, code: 'INTERNAL', message: `internal error in ${request.capability}` },
        internalDetail,
      )
    } finally {
      // Tell a handler still at work (cancelled, timed out, answered from elsewhere) to stop.
      if (!handlerDone && controller) controller.abort(new CapabilityError('CANCELLED', 'the call has ended'))
    }
  }

  #tryAudit(entry: Parameters<AuditLog['record']>[0]): void {
    try {
      this.#deps.audit.record(entry)
    } catch (error) {
      this.#deps.logger.error('audit sink failed', { callId: entry.callId, error: String(error) })
    }
  }
}

function stateOf(code: CapabilityErrorCode): Exclude<PromiseState, 'pending'> {
  if (code === 'CANCELLED') return 'cancelled'
  if (code === 'TIMEOUT') return 'timed_out'
  return 'rejected'
}

function iso(clock: Clock): string {
  return new Date(clock.now()).toISOString()
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

function childLogger(logger: CapabilityLogger, fields: Record<string, unknown>): CapabilityLogger {
  return {
    debug: (message, extra) => logger.debug(message, { ...fields, ...extra }),
    info: (message, extra) => logger.info(message, { ...fields, ...extra }),
    warn: (message, extra) => logger.warn(message, { ...fields, ...extra }),
    error: (message, extra) => logger.error(message, { ...fields, ...extra }),
  }
}

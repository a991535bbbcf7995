import type { SecurityLevel } from './securityLevel.js'

/** A structured logger handed to handlers; entries go to the host's logger, never to Python. */
export interface CapabilityLogger {
  debug(message: string, fields?: Record<string, unknown>): void
  info(message: string, fields?: Record<string, unknown>): void
  warn(message: string, fields?: Record<string, unknown>): void
  error(message: string, fields?: Record<string, unknown>): void
}

/** A progress report from a long-running handler (surfaced to the host as a `call` event update). */
export interface CapabilityProgress {
  /** Work done so far, in `unit`s. */
  done: number
  /** Total work, when known. */
  total?: number
  unit?: string
  message?: string
}

/**
 * What a handler knows about the call it serves. Pass it on whole: a host may make `signal` and `log`
 * on first read (the core's are getters on its context's prototype), which `{ ...ctx }` does not copy.
 */
export interface CapabilityContext {
  /** Aborted when the call is cancelled: interrupt, session close, worker death or deadline. */
  readonly signal: AbortSignal
  /** Epoch milliseconds after which the call has timed out. */
  readonly deadline: number
  /** The session the call came from. */
  readonly sessionId: string
  /** The execution running when the call was made, or null for calls from background threads. */
  readonly executionId: string | null
  /** This call's id (unique within the host process). */
  readonly callId: string
  /** The full capability id, `provider.name`. */
  readonly capabilityId: string
  /**
   * In a durable execution: the call's journal key, the same each time this call is run again (after a
   * crash, or retried when in doubt). Send it on (e.g. as an `Idempotency-Key` header) so a service can
   * tell a repeat from a new request. Undefined outside durable executions.
   */
  readonly idempotencyKey?: string | undefined
  /** The session's security level. */
  readonly level: SecurityLevel
  readonly log: CapabilityLogger
  /** Reports progress; cheap, may be called often. */
  progress(update: CapabilityProgress): void
  /**
   * Offered by hosts that can do it cheaply (Capsule's core does): calls `listener` once, with the
   * reason, when `signal` would abort (at once if the call has already been cancelled), and returns a
   * function that stops listening; what a listener throws is dropped. It makes no AbortController,
   * which `signal` does on first use: for handlers on a hot path. Call it through
   * {@link whenCancelled}, which falls back to `signal` where a context lacks it.
   */
  onCancel?(listener: (reason: unknown) => void): () => void
}

function noop(): void {}

/**
 * Calls `listener` once, with the reason, when the call behind `ctx` is cancelled (interrupt, session
 * close, worker death, deadline), or at once if it already has been; returns a function that stops
 * listening. Uses the context's cheap `onCancel` when the host offers it, else listens on `signal`.
 */
export function whenCancelled(ctx: CapabilityContext, listener: (reason: unknown) => void): () => void {
  if (ctx.onCancel) return ctx.onCancel(listener)
  const signal = ctx.signal
  if (signal.aborted) {
    listener(signal.reason)
    return noop
  }
  const heard = () => listener(signal.reason)
  signal.addEventListener('abort', heard, { once: true })
  return () => signal.removeEventListener('abort', heard)
}

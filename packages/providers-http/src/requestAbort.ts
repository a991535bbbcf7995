import { type CapabilityContext, whenCancelled } from '@capsule/provider-sdk'

/**
 * One request's abort switch, thrown by the call's cancellation or by the request's own deadline,
 * whichever comes first. undici takes an emitter with `aborted` and `reason` wherever it takes an
 * AbortSignal, and only subscribes with `once` and unsubscribes with `removeListener`; an
 * AbortController (an EventTarget underneath) costs several times more to make and to listen on, and
 * every request needs one. No EventEmitter underneath either, and the call's cancellation is heard
 * through `ctx.onCancel` where the host offers it, so the call makes no AbortController at all.
 */
export class RequestAbort {
  aborted = false
  reason: unknown = undefined
  /** Set when the request's own deadline threw the switch (as opposed to a cancellation). */
  timedOut = false
  #listeners: Array<() => void> = []
  readonly #timer: NodeJS.Timeout
  readonly #stopListening: () => void

  /** Armed at once: the call's cancellation or `timeoutMs` aborts it; {@link dispose} when done. */
  constructor(ctx: CapabilityContext, timeoutMs: number) {
    this.#timer = setTimeout(onTimeout, timeoutMs, this)
    this.#stopListening = whenCancelled(ctx, (reason) => this.abort(reason))
  }

  abort(reason: unknown): void {
    if (this.aborted) return
    this.aborted = true
    this.reason = reason
    const listeners = this.#listeners
    this.#listeners = []
    for (const listener of listeners) listener()
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.reason
  }

  /** Stops watching the call and the clock. */
  dispose(): void {
    clearTimeout(this.#timer)
    this.#stopListening()
  }

  // The emitter surface undici and the session limiter use; the only event is 'abort', heard once.
  on(_event: 'abort', listener: () => void): this {
    this.#listeners.push(listener)
    return this
  }

  once(event: 'abort', listener: () => void): this {
    return this.on(event, listener)
  }

  removeListener(_event: 'abort', listener: () => void): this {
    const index = this.#listeners.indexOf(listener)
    if (index !== -1) this.#listeners.splice(index, 1)
    return this
  }
}

function onTimeout(abort: RequestAbort): void {
  abort.timedOut = true
  abort.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))
}

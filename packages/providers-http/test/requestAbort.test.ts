import { getEventListeners } from 'node:events'
import type { CapabilityContext } from '@capsule/provider-sdk'
import { describe, expect, test, vi } from 'vitest'
import { RequestAbort } from '../src/requestAbort.js'
import { SessionLimiter } from '../src/sessionLimiter.js'
import { testContext } from './helpers.js'

/** A handler context whose cancellation is `signal` (a context without the host's `onCancel`). */
function withSignal(signal: AbortSignal): CapabilityContext {
  return { ...testContext().ctx, signal }
}

describe('RequestAbort', () => {
  test("the call's cancellation throws it once, with the call's reason, for every listener", () => {
    const call = new AbortController()
    const abort = new RequestAbort(withSignal(call.signal), 60_000)
    const first = vi.fn()
    const second = vi.fn()
    abort.once('abort', first)
    abort.on('abort', second)
    call.abort(new Error('cancelled'))
    call.abort(new Error('again'))
    expect(abort.aborted).toBe(true)
    expect(abort.timedOut).toBe(false)
    expect((abort.reason as Error).message).toBe('cancelled')
    expect(first).toHaveBeenCalledTimes(1)
    expect(second).toHaveBeenCalledTimes(1)
    expect(() => abort.throwIfAborted()).toThrow('cancelled')
    abort.dispose()
  })

  test('its own deadline throws it as a TimeoutError and marks it timed out', async () => {
    vi.useFakeTimers()
    try {
      const abort = new RequestAbort(withSignal(new AbortController().signal), 50)
      const heard = vi.fn()
      abort.once('abort', heard)
      vi.advanceTimersByTime(49)
      expect(abort.aborted).toBe(false)
      vi.advanceTimersByTime(1)
      expect(abort.timedOut).toBe(true)
      expect((abort.reason as DOMException).name).toBe('TimeoutError')
      expect(heard).toHaveBeenCalledTimes(1)
      abort.dispose()
    } finally {
      vi.useRealTimers()
    }
  })

  test('a call already cancelled gives a switch already thrown', () => {
    const call = new AbortController()
    call.abort(new Error('before'))
    const abort = new RequestAbort(withSignal(call.signal), 60_000)
    expect(abort.aborted).toBe(true)
    expect(() => abort.throwIfAborted()).toThrow('before')
    abort.dispose()
  })

  test("dispose leaves nothing behind: no listener on the call's signal, no timer that fires", () => {
    vi.useFakeTimers()
    try {
      const call = new AbortController()
      const abort = new RequestAbort(withSignal(call.signal), 50)
      expect(getEventListeners(call.signal, 'abort')).toHaveLength(1)
      abort.dispose()
      expect(getEventListeners(call.signal, 'abort')).toHaveLength(0)
      vi.advanceTimersByTime(1000)
      call.abort()
      expect(abort.aborted).toBe(false)
    } finally {
      vi.useRealTimers()
    }
  })

  test('a listener removed before the abort is not called', () => {
    const call = new AbortController()
    const abort = new RequestAbort(withSignal(call.signal), 60_000)
    const gone = vi.fn()
    abort.once('abort', gone)
    abort.removeListener('abort', gone)
    call.abort()
    expect(gone).not.toHaveBeenCalled()
    abort.dispose()
  })
})

describe("RequestAbort with the host's onCancel", () => {
  test('listens through onCancel, never on the signal, and stops listening on dispose', () => {
    const listeners = new Set<(reason: unknown) => void>()
    const ctx: CapabilityContext = {
      ...testContext().ctx,
      get signal(): AbortSignal {
        throw new Error('the signal was made')
      },
      onCancel(listener) {
        listeners.add(listener)
        return () => listeners.delete(listener)
      },
    }
    const abort = new RequestAbort(ctx, 60_000)
    expect(listeners.size).toBe(1)
    for (const listener of listeners) listener(new Error('ended'))
    expect(abort.aborted).toBe(true)
    expect((abort.reason as Error).message).toBe('ended')
    abort.dispose()
    expect(listeners.size).toBe(0)
  })
})

describe('SessionLimiter.tryAcquire', () => {
  test('takes a free slot at once; at the cap, or with callers waiting, it leaves the order to acquire', async () => {
    const limiter = new SessionLimiter(1, 4)
    const call = new AbortController()
    const release = limiter.tryAcquire('s')
    expect(release).toBeTypeOf('function')
    expect(limiter.tryAcquire('s')).toBeUndefined()
    // Another session has its own slots.
    const other = limiter.tryAcquire('t')
    expect(other).toBeTypeOf('function')
    other?.()

    const abort = new RequestAbort(withSignal(call.signal), 60_000)
    const waiting = limiter.acquire('s', abort)
    release?.()
    // The slot went to the waiter, not to a newcomer.
    expect(limiter.tryAcquire('s')).toBeUndefined()
    const handed = await waiting
    expect(limiter.active('s')).toBe(1)
    handed()
    expect(limiter.active('s')).toBe(0)
    abort.dispose()
  })
})

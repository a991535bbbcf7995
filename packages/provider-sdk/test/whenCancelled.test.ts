import { getEventListeners } from 'node:events'
import { describe, expect, test, vi } from 'vitest'
import type { CapabilityContext } from '../src/index.js'
import { whenCancelled } from '../src/index.js'

function contextWith(signal: AbortSignal, onCancel?: CapabilityContext['onCancel']): CapabilityContext {
  return {
    signal,
    deadline: Date.now() + 60_000,
    sessionId: 's',
    executionId: null,
    callId: 'c',
    capabilityId: 'p.c',
    level: 'standard',
    log: { debug() {}, info() {}, warn() {}, error() {} },
    progress() {},
    ...(onCancel ? { onCancel } : {}),
  }
}

describe('whenCancelled', () => {
  test("uses the host's onCancel when there is one, and never touches the signal", () => {
    const stop = vi.fn()
    const onCancel = vi.fn(() => stop)
    const signal = {
      get aborted(): boolean {
        throw new Error('the signal was read')
      },
    } as unknown as AbortSignal
    const listener = vi.fn()
    expect(whenCancelled(contextWith(signal, onCancel), listener)).toBe(stop)
    expect(onCancel).toHaveBeenCalledWith(listener)
  })

  test('falls back to the signal: called once with its reason; the returned function stops listening', () => {
    const controller = new AbortController()
    const listener = vi.fn()
    whenCancelled(contextWith(controller.signal), listener)
    controller.abort(new Error('gone'))
    expect(listener).toHaveBeenCalledTimes(1)
    expect((listener.mock.calls[0]![0] as Error).message).toBe('gone')

    const other = new AbortController()
    const unheard = vi.fn()
    const stop = whenCancelled(contextWith(other.signal), unheard)
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(1)
    stop()
    expect(getEventListeners(other.signal, 'abort')).toHaveLength(0)
    other.abort()
    expect(unheard).not.toHaveBeenCalled()
  })

  test('a signal already aborted calls the listener at once', () => {
    const controller = new AbortController()
    controller.abort('before')
    const listener = vi.fn()
    whenCancelled(contextWith(controller.signal), listener)
    expect(listener).toHaveBeenCalledWith('before')
  })
})

import { describe, expect, test, vi } from 'vitest'
import type { PendingCall } from '../../src/calls/pendingCall.js'
import { pendingCall } from './pendingCallFixture.js'

const pending = (): PendingCall => pendingCall()

describe("PendingCall's cancellation for its handler", () => {
  test('onCancel hears a call that ends around its handler, once, with the reason the signal gets', () => {
    const call = pending()
    const heard = vi.fn()
    call.onCancel(heard)
    const signal = call.signal
    call.cancel('interrupted')
    call.cancel('again')
    expect(heard).toHaveBeenCalledTimes(1)
    const reason = heard.mock.calls[0]![0] as { code: string }
    expect(reason.code).toBe('CANCELLED')
    expect(signal.aborted).toBe(true)
    expect(signal.reason).toBe(reason)
  })

  test('a listener that throws neither stops the others nor the settling of the call', () => {
    const call = pending()
    const after = vi.fn()
    call.onCancel(() => {
      throw new Error('provider bug')
    })
    call.onCancel(after)
    expect(call.cancel('closing')).toBe(true)
    expect(after).toHaveBeenCalledTimes(1)
    expect(call.settled).toBe(true)
  })

  test('a listener that stopped listening is not called', () => {
    const call = pending()
    const heard = vi.fn()
    const stop = call.onCancel(heard)
    stop()
    call.cancel('interrupted')
    expect(heard).not.toHaveBeenCalled()
  })

  test('after the call was cancelled, onCancel calls at once and the signal comes already aborted', () => {
    const call = pending()
    call.cancel('interrupted')
    const heard = vi.fn()
    call.onCancel(heard)
    expect(heard).toHaveBeenCalledTimes(1)
    // The handler looked at its signal only after the call had ended: it must still learn of it.
    expect(call.signal.aborted).toBe(true)
    expect((call.signal.reason as { code: string }).code).toBe('CANCELLED')
  })

  test('a call its handler finished is never cancelled for it', () => {
    const call = pending()
    const heard = vi.fn()
    call.onCancel(heard)
    call.settleFromHandler({ value: 1 })
    call.cancel('late')
    expect(heard).not.toHaveBeenCalled()
    expect(call.signal.aborted).toBe(false)
    const later = vi.fn()
    call.onCancel(later)
    expect(later).not.toHaveBeenCalled()
  })
})

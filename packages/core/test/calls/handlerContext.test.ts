import type { CapabilityLogger } from '@capsule/provider-sdk'
import { describe, expect, test, vi } from 'vitest'
import { HandlerContext } from '../../src/calls/handlerContext.js'
import type { CallHooks, PendingCall } from '../../src/calls/pendingCall.js'
import { pendingCall } from './pendingCallFixture.js'

const pending = (hooks?: CallHooks): PendingCall =>
  pendingCall({ id: 'c7', protocolId: 7, sessionId: 's1', hooks })

function recordingLogger(): CapabilityLogger & { lines: unknown[][] } {
  const lines: unknown[][] = []
  const at =
    (level: string) =>
    (message: string, extra?: Record<string, unknown>): void => {
      lines.push([level, message, extra])
    }
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }
}

describe("a handler's context", () => {
  test('carries the call as data fields', () => {
    const ctx = new HandlerContext(pending(), 'standard', 1234, recordingLogger())
    expect({ ...ctx, progress: undefined, onCancel: undefined }).toEqual({
      deadline: 1234,
      sessionId: 's1',
      executionId: null,
      callId: 'c7',
      capabilityId: 'test.echo',
      idempotencyKey: undefined,
      level: 'standard',
      progress: undefined,
      onCancel: undefined,
    })
  })

  test('its signal is the call’s, made only when read, and destructuring reads it', () => {
    const call = pending()
    const signalRead = vi.spyOn(call, 'signal', 'get')
    const ctx = new HandlerContext(call, 'standard', 0, recordingLogger())
    expect(signalRead).not.toHaveBeenCalled()
    const { signal } = ctx
    expect(signalRead).toHaveBeenCalledTimes(1)
    call.cancel('interrupted')
    expect(signal.aborted).toBe(true)
  })

  test('progress and onCancel work when taken off the context', () => {
    const onProgress = vi.fn()
    const call = pending({ onProgress } as unknown as CallHooks)
    const { progress, onCancel } = new HandlerContext(call, 'standard', 0, recordingLogger())
    progress({ done: 1, total: 2 })
    expect(onProgress).toHaveBeenCalledWith(call, { done: 1, total: 2 })
    const heard = vi.fn()
    onCancel(heard)
    call.cancel('closing')
    expect(heard).toHaveBeenCalledTimes(1)
  })

  test('log names the call on every line', () => {
    const logger = recordingLogger()
    const ctx = new HandlerContext(pending(), 'standard', 0, logger)
    ctx.log.warn('slow', { ms: 5 })
    expect(logger.lines).toEqual([
      ['warn', 'slow', { sessionId: 's1', executionId: null, callId: 'c7', capability: 'test.echo', ms: 5 }],
    ])
  })
})

import { PendingCall, type PendingCallInit } from '../../src/calls/pendingCall.js'

/** A pending call from session `s1`, outside any execution; `init` overrides any field. */
export function pendingCall(init: Partial<PendingCallInit> = {}): PendingCall {
  return new PendingCall({
    id: 'c1',
    protocolId: 1,
    capability: 'test.echo',
    args: {},
    frameBytes: 10,
    sessionId: 's1',
    execution: null,
    createdAt: 0,
    ...init,
  })
}

import type { CapabilityContext, CapabilityLogger } from '@capsule/provider-sdk'

const silentLogger: CapabilityLogger = { debug() {}, info() {}, warn() {}, error() {} }

/** A real CapabilityContext backed by an AbortController the test can fire. */
export function makeContext(capabilityId = 'fs.test'): {
  ctx: CapabilityContext
  controller: AbortController
} {
  const controller = new AbortController()
  const ctx: CapabilityContext = {
    signal: controller.signal,
    deadline: Date.now() + 60_000,
    sessionId: 'session-test',
    executionId: 'execution-test',
    callId: `call-${Math.random().toString(16).slice(2)}`,
    capabilityId,
    level: 'standard',
    log: silentLogger,
    progress() {},
  }
  return { ctx, controller }
}

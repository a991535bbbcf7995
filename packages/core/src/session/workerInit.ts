import type { CapabilitySpec, HostMessage } from '../protocol/messages.js'
import type { Limits } from './limits.js'

/** The `init` message every worker of a session is started with: its capabilities and output limits. */
export function workerInit(
  sessionId: string,
  capabilities: CapabilitySpec[],
  limits: Limits,
): Extract<HostMessage, { type: 'init' }> {
  return {
    type: 'init',
    session: sessionId,
    capabilities,
    options: {
      maxOutputBytes: limits.maxOutputBytes,
      maxFrameBytes: limits.maxFrameBytes,
      outputFlushMs: limits.outputFlushMs,
      displayMaxBytes: limits.displayMaxBytes,
    },
  }
}

import { CapsuleError } from '../errors.js'
import type { WorkerMessage } from '../protocol/messages.js'
import type { Execution } from './execution.js'
import type { ExecutionEnd } from './executionQueue.js'

/** The worker messages that belong to one execution: its output and how it ended. */
export type OutputMessage = Extract<WorkerMessage, { type: 'stream' | 'display' | 'result' | 'error' }>

/**
 * Hands one output message to the running `execution`: stream text and displays are pushed to it; a
 * `result` or `error` is returned as the fields its end is settled with (the caller ends it and starts
 * the next). Throws PROTOCOL_ERROR when the message names another execution than the one running, which a
 * worker that keeps its protocol never sends.
 */
export function deliverOutput(
  execution: Execution | undefined,
  message: OutputMessage,
  frameBytes: number,
): ExecutionEnd | undefined {
  if (!execution || execution.protocolId !== message.id) {
    throw new CapsuleError(
      'PROTOCOL_ERROR',
      `the worker sent ${message.type} for execution ${message.id}, which is not running`,
      { details: { type: message.type, id: message.id } },
    )
  }
  switch (message.type) {
    case 'stream':
      execution.pushStream(message.name, message.text)
      return undefined
    case 'display':
      execution.pushDisplay(message.data, message.metadata ?? {}, frameBytes)
      return undefined
    case 'result':
      return {
        executionCount: message.count,
        status: 'ok',
        value: message.value,
        error: null,
        outputTruncatedBytes: message.truncated ?? 0,
        stateLost: false,
      }
    case 'error':
      return {
        executionCount: message.count,
        // An interrupt the code did not catch reaches the host as KeyboardInterrupt.
        status: execution.interrupted && message.ename === 'KeyboardInterrupt' ? 'interrupted' : 'error',
        value: null,
        error: { ename: message.ename, evalue: message.evalue, traceback: message.traceback },
        outputTruncatedBytes: message.truncated ?? 0,
        stateLost: false,
      }
  }
}

import { CapsuleError, isCapsuleError } from '../errors.js'
import type { SnapshotMessage } from '../protocol/messages.js'
import type { WorkerConnection } from '../worker/workerConnection.js'
import type { CheckpointCapture, RestoreReport, SnapshotExchange } from './snapshotExchange.js'

type AnyExchange = SnapshotExchange<CheckpointCapture | RestoreReport>

/**
 * The one checkpoint or restore exchange a worker may have under way: its frames go out when it begins,
 * the worker's snapshot messages go to it, and a snapshot message nobody asked for ends the worker.
 */
export class SnapshotSlot {
  #exchange: AnyExchange | undefined

  /** Whether an exchange is under way (executions wait until it ends). */
  get active(): boolean {
    return this.#exchange !== undefined
  }

  /**
   * Sends `exchange`'s frames to `worker` and holds it until its result settles; then `onEnded` runs.
   * A frame that cannot be sent fails the exchange.
   */
  begin<T extends CheckpointCapture | RestoreReport>(
    exchange: SnapshotExchange<T>,
    worker: WorkerConnection,
    onEnded: () => void,
  ): Promise<T> {
    const held = exchange as unknown as AnyExchange
    this.#exchange = held
    void sendFrames(held, worker)
    const done = (): void => {
      if (this.#exchange !== held) return
      this.#exchange = undefined
      onEnded()
    }
    exchange.result.then(done, done)
    return exchange.result
  }

  /** One snapshot message from `worker`; an unasked or bad one fails the exchange and kills the worker. */
  onMessage(worker: WorkerConnection, message: SnapshotMessage): void {
    const exchange = this.#exchange
    try {
      if (!exchange) throw new CapsuleError('PROTOCOL_ERROR', `the worker sent ${message.type} unasked`)
      exchange.onMessage(message)
    } catch (error) {
      const failure = isCapsuleError(error) ? error : new CapsuleError('PROTOCOL_ERROR', String(error))
      exchange?.fail(failure)
      worker.kill(failure)
    }
  }

  /** The worker's work ended: the exchange under way, if any, fails with `error`. */
  fail(error: CapsuleError): void {
    this.#exchange?.fail(error)
  }
}

// A restore's chunks go out as the worker takes them: queued all at once, a 100 MB restore would hold
// another 100 MB of frames in fresh memory on the host before the worker read its first byte.
async function sendFrames(exchange: AnyExchange, worker: WorkerConnection): Promise<void> {
  try {
    for (const frame of exchange.frames()) {
      // A worker that is gone fails the exchange through its end; one that answered early ended it.
      if (exchange.settled || !worker.send(frame)) return
      await worker.drained()
    }
  } catch (error) {
    exchange.fail(isCapsuleError(error) ? error : new CapsuleError('PROTOCOL_ERROR', String(error)))
  }
}

import { systemClock } from '../util/clock.js'
import {
  WorkerConnection,
  type WorkerConnectionHandlers,
  type WorkerConnectionOptions,
} from './workerConnection.js'
import { type WorkerCommand, WorkerProcess } from './workerProcess.js'

/** Everything needed to start one real worker: the command, and how its connection runs. */
export interface LaunchWorkerOptions extends Omit<WorkerConnectionOptions, 'clock'> {
  command: WorkerCommand
  /** Heartbeats and the start deadline (default: the system clock). */
  clock?: WorkerConnectionOptions['clock']
}

/** Spawns a worker process and completes the handshake over its pipes. */
export function launchWorker(
  options: LaunchWorkerOptions,
  handlers: WorkerConnectionHandlers,
): Promise<WorkerConnection> {
  const process = new WorkerProcess(options.command, options.maxFrameBytes)
  return WorkerConnection.open(
    process,
    process.transport,
    { ...options, clock: options.clock ?? systemClock },
    handlers,
  )
}

import { CapsuleError } from '../errors.js'
import { exitSummary } from '../worker/exitSummary.js'
import { describeExit, type WorkerExit } from '../worker/workerProcess.js'

/** How a worker's work comes to an end; the supervisor settles all of it in one place. */
export type Ending =
  | { kind: 'exit'; exit: WorkerExit }
  | { kind: 'restart' }
  | { kind: 'close' }
  | { kind: 'destroy'; error: CapsuleError }

/** Why the calls a worker had open end, by how its work ended. */
export const CALLS_END: Record<Ending['kind'], string> = {
  exit: 'the worker is gone',
  restart: 'the session was restarted',
  close: 'the session is closed',
  destroy: 'the session was destroyed',
}

/** Whether `exit` is the kill of a worker whose running execution ignored its interrupt. */
export function isIgnoredInterruptKill(exit: WorkerExit, interrupted: boolean): boolean {
  return interrupted && (!exit.reason || exit.reason.code === 'CANCELLED')
}

/** The error the executions of a worker that died on its own end with: its reason, or WORKER_EXITED. */
export function workerLostError(exit: WorkerExit): CapsuleError {
  const reason = exit.reason
  if (reason && reason.code !== 'CANCELLED') return reason
  return new CapsuleError(
    'WORKER_EXITED',
    `the Python worker exited (${describeExit(exit)})${exit.stderrTail ? `: ${exitSummary(exit.stderrTail)}` : ''}`,
    { details: { exitCode: exit.exitCode, signal: exit.signal, stderrTail: exit.stderrTail } },
  )
}

import { z } from 'zod'

/** Resource and time limits of a session. Every field has a default; docs/limits.md explains each. */
export interface Limits {
  /** Wall time of one execution; it is interrupted, then the worker killed. 0 = none. */
  executeTimeoutMs: number
  /** Deadline of one capability call (a capability may set its own). */
  callTimeoutMs: number
  /** How long an interrupted cell may take to stop before the worker is killed and restarted. */
  interruptGraceMs: number
  /** Output (stdout + stderr) kept per execution; the rest is dropped and counted. */
  maxOutputBytes: number
  /** Largest protocol frame either way. */
  maxFrameBytes: number
  /** Largest `text/plain` repr of a value or display. */
  displayMaxBytes: number
  /** How long a worker may take from spawn to ready. */
  startTimeoutMs: number
  heartbeatIntervalMs: number
  /** A worker silent this long is declared dead. */
  heartbeatTimeoutMs: number
  /** Output coalescing delay in the worker. */
  outputFlushMs: number
  /** Worker address-space limit in MiB (RLIMIT_AS, and cgroup memory.max where available). 0 = none. */
  memoryMb: number
  /** Processes and threads of a worker (a cgroup pids limit where available, RLIMIT_NPROC). 0 = none. */
  maxProcesses: number
  /** Open files per process (RLIMIT_NOFILE). 0 = none. */
  maxOpenFiles: number
  /** Largest file a worker may write, in MiB (RLIMIT_FSIZE). 0 = none. */
  maxFileSizeMb: number
  /** CPU seconds over a worker's life (RLIMIT_CPU); the worker is killed past it. 0 = none. */
  cpuSeconds: number
  /** Size of the sandbox's private /tmp, in MiB. */
  tmpSizeMb: number
  /**
   * Capability calls of one session the host runs at once. Past it the host stops reading the worker
   * until half have finished, so a flood of calls cannot grow host memory without bound.
   */
  maxPendingCalls: number
}

/** The defaults of {@link Limits}. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  executeTimeoutMs: 5 * 60_000,
  callTimeoutMs: 30_000,
  interruptGraceMs: 2_000,
  maxOutputBytes: 10 * 1024 * 1024,
  // Room for a 10 MiB file (the fs default cap) even base64-encoded by the JSON codec.
  maxFrameBytes: 16 * 1024 * 1024,
  displayMaxBytes: 1024 * 1024,
  startTimeoutMs: 15_000,
  heartbeatIntervalMs: 5_000,
  heartbeatTimeoutMs: 30_000,
  outputFlushMs: 10,
  memoryMb: 1024,
  maxProcesses: 128,
  maxOpenFiles: 256,
  maxFileSizeMb: 64,
  cpuSeconds: 0,
  tmpSizeMb: 64,
  maxPendingCalls: 1024,
})

const ms = z
  .number()
  .int()
  .min(0)
  .max(2 ** 31 - 1)
const positive = z
  .number()
  .int()
  .min(1)
  .max(2 ** 31 - 1)

/** Validates a partial limits object; unknown keys are errors (a typo should not pass silently). */
export const limitsSchema = z
  .object({
    executeTimeoutMs: ms,
    callTimeoutMs: positive,
    interruptGraceMs: positive,
    maxOutputBytes: positive,
    maxFrameBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(256 * 1024 * 1024),
    displayMaxBytes: positive,
    startTimeoutMs: positive,
    heartbeatIntervalMs: ms,
    heartbeatTimeoutMs: positive,
    outputFlushMs: ms,
    memoryMb: ms,
    maxProcesses: ms,
    maxOpenFiles: ms,
    maxFileSizeMb: ms,
    cpuSeconds: ms,
    tmpSizeMb: positive,
    maxPendingCalls: positive,
  })
  .partial()
  .strict()

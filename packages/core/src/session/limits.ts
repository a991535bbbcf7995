import { z } from 'zod'

/** Resource and time limits of a session. Every field has a default; docs/limits.md explains each. */
export interface Limits {
  /** Wall time of one execution; it is interrupted, then the worker killed. 0 = none. */
  executeTimeoutMs: number
  /** Deadline of one capability call (a capability may set its own). */
  callTimeoutMs: number
  /**
   * How long an `input()` may wait for its answer when someone could answer it (an `onInput` handler, or an
   * `execute()` consumer reading events); then the execution ends with status `timeout` and
   * `details.waitingFor: 'input'`. With nobody to answer, `input()` raises EOFError at once. 0 = no limit
   * of its own (the execution's timeout still applies). Below `executeTimeoutMs`, or it never fires.
   */
  inputTimeoutMs: number
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
  /** Worker memory limit in MiB (RLIMIT_DATA, RLIMIT_AS 2 GiB above it, and cgroup memory.max where available). 0 = none. */
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
  /**
   * Bytes of call frames a session's pending capability calls hold. Past it the host stops reading the
   * worker until half is freed, like {@link Limits.maxPendingCalls}.
   */
  maxPendingCallBytes: number
  /**
   * Bytes of call frames the pending calls of all sessions of a Capsule hold. A call that would pass it
   * fails at once with LIMIT_EXCEEDED (the worker lives on). Whole-Capsule only: a session cannot narrow it.
   */
  maxCapsulePendingCallBytes: number
  /**
   * Bytes of displays one execution keeps, counted by the host as they arrive. The display that crosses it
   * keeps only its `text/plain`, cut; later ones are dropped (marked on stderr, counted in the result).
   */
  maxDisplayOutputBytes: number
  /** Map entries in one frame from the worker, counted before it is decoded; more ends the worker. */
  maxFrameKeys: number
  /** Array items in one frame from the worker, counted before it is decoded; more ends the worker. */
  maxFrameItems: number
  /** Nesting of maps and arrays in one frame from the worker; deeper ends the worker. */
  maxFrameDepth: number
}

/** The defaults of {@link Limits}. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  executeTimeoutMs: 5 * 60_000,
  callTimeoutMs: 30_000,
  // Well under executeTimeoutMs, so an unanswered input() says so before the execution's own deadline.
  inputTimeoutMs: 2 * 60_000,
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
  maxProcesses: 512,
  maxOpenFiles: 256,
  maxFileSizeMb: 64,
  cpuSeconds: 0,
  tmpSizeMb: 64,
  maxPendingCalls: 1024,
  maxPendingCallBytes: 64 * 1024 * 1024,
  maxCapsulePendingCallBytes: 256 * 1024 * 1024,
  maxDisplayOutputBytes: 32 * 1024 * 1024,
  // Decoding costs ~2 µs per distinct map key and far less per array item: these keep the worst frame
  // within a few tens of milliseconds of one event-loop turn.
  maxFrameKeys: 10_000,
  maxFrameItems: 100_000,
  maxFrameDepth: 64,
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

const limitsShape = z.object({
  executeTimeoutMs: ms,
  callTimeoutMs: positive,
  inputTimeoutMs: ms,
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
  maxPendingCallBytes: positive,
  maxCapsulePendingCallBytes: positive,
  maxDisplayOutputBytes: positive,
  // Floors leave room for the protocol's own messages (hello, ready, a traceback).
  maxFrameKeys: positive.min(256),
  maxFrameItems: positive.min(1024),
  maxFrameDepth: z.number().int().min(8).max(1024),
})

// An input timeout at or past the execution's would never fire: the execution's deadline comes first.
const inputBelowExecute = [
  (limits: { inputTimeoutMs?: number; executeTimeoutMs?: number }) => {
    const input = limits.inputTimeoutMs ?? DEFAULT_LIMITS.inputTimeoutMs
    const execute = limits.executeTimeoutMs ?? DEFAULT_LIMITS.executeTimeoutMs
    // Checked only when the host set one of the pair: a shorter executeTimeoutMs alone just wins.
    if (limits.inputTimeoutMs === undefined) return true
    return input === 0 || execute === 0 || input < execute
  },
  {
    message: 'inputTimeoutMs must be below executeTimeoutMs (or 0 for none), or it would never fire',
    path: ['inputTimeoutMs'] as PropertyKey[],
  },
] as const

/** Validates a partial limits object; unknown keys are errors (a typo should not pass silently). */
export const limitsSchema = limitsShape
  .partial()
  .strict()
  .refine(...inputBelowExecute)
  .refine(
    (limits) =>
      (limits.maxCapsulePendingCallBytes ?? DEFAULT_LIMITS.maxCapsulePendingCallBytes) >=
      (limits.maxFrameBytes ?? DEFAULT_LIMITS.maxFrameBytes),
    {
      message: 'maxCapsulePendingCallBytes must be at least maxFrameBytes, or no large call could ever run',
      path: ['maxCapsulePendingCallBytes'],
    },
  )

/** The limits a session may narrow: all but the whole-Capsule ones. */
export const sessionLimitsSchema = limitsShape
  .omit({ maxCapsulePendingCallBytes: true })
  .partial()
  .strict()
  .refine(...inputBelowExecute)

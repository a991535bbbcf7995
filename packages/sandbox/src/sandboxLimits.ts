import { SandboxError } from './sandboxError.js'

/**
 * Resource limits for one sandboxed worker. `Infinity` leaves a limit off. Applied as rlimits with
 * soft = hard inside the sandbox (capabilities are dropped, so the worker cannot raise them), and,
 * where {@link createWorkerCgroup} finds a writable cgroup, as cgroup limits as well.
 */
export interface SandboxLimits {
  /** Address-space cap (RLIMIT_AS; cgroup memory.max when available). Python raises MemoryError past it. */
  memoryBytes: number
  /**
   * Processes and threads (RLIMIT_NPROC; cgroup pids.max when available). RLIMIT_NPROC is ignored
   * for a host running as real root: only the cgroup contains a fork bomb there.
   */
  maxProcesses: number
  /** Open file descriptors per process (RLIMIT_NOFILE). */
  maxOpenFiles: number
  /** Largest file a process may write (RLIMIT_FSIZE): past it writes fail with EFBIG. */
  maxFileSizeBytes: number
  /**
   * CPU seconds over the worker's whole life (RLIMIT_CPU; SIGKILL at the limit). A persistent
   * session accumulates CPU across executions, so this bounds a session, not one execution.
   */
  cpuSeconds: number
}

/** Limits used when the host sets none: generous for data work, small enough to protect the machine. */
export const DEFAULT_SANDBOX_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  memoryBytes: 1024 * 1024 * 1024,
  maxProcesses: 64,
  maxOpenFiles: 256,
  maxFileSizeBytes: 64 * 1024 * 1024,
  cpuSeconds: Number.POSITIVE_INFINITY,
})

/** Where util-linux installs prlimit on Debian, Ubuntu and Fedora. */
export const DEFAULT_PRLIMIT_PATH = '/usr/bin/prlimit'

const PRLIMIT_FLAGS: ReadonlyArray<[keyof SandboxLimits, string]> = [
  ['memoryBytes', 'as'],
  ['maxProcesses', 'nproc'],
  ['maxOpenFiles', 'nofile'],
  ['maxFileSizeBytes', 'fsize'],
  ['cpuSeconds', 'cpu'],
]

/**
 * Checks every limit is a positive integer or Infinity; throws INVALID_OPTIONS naming the field.
 */
export function validateSandboxLimits(limits: SandboxLimits): void {
  for (const [key] of PRLIMIT_FLAGS) {
    const value = limits[key]
    if (value === Number.POSITIVE_INFINITY) continue
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new SandboxError(
        'INVALID_OPTIONS',
        `limits.${key} must be an integer ≥ 1 or Infinity (got ${String(value)})`,
      )
    }
  }
}

/**
 * The limits as the worker's `CAPSULE_RLIMITS` variable (`as=…:…;nproc=…`): the worker applies them to
 * itself, soft = hard (CPU: hard one second later, so SIGXCPU names the limit), before any user code
 * runs. Needs no helper binary, so it works on any Unix with Python's `resource` module.
 */
export function rlimitsEnv(limits: SandboxLimits): string {
  validateSandboxLimits(limits)
  const pairs = ['core=0:0']
  for (const [key, flag] of PRLIMIT_FLAGS) {
    const value = limits[key]
    if (value === Number.POSITIVE_INFINITY) continue
    pairs.push(`${flag}=${value}:${key === 'cpuSeconds' ? value + 1 : value}`)
  }
  return pairs.join(';')
}

/**
 * Wraps `command` in util-linux `prlimit` so every limit is in force, soft = hard, before the
 * first instruction of the command runs (core dumps are always off). Used by
 * {@link buildSandboxCommand} inside the sandbox; usable on its own for `sandbox: 'none'` too.
 */
export function applyLimitsCommand(
  limits: SandboxLimits,
  command: { command: string; args: string[] },
  prlimitPath: string = DEFAULT_PRLIMIT_PATH,
): { command: string; args: string[] } {
  validateSandboxLimits(limits)
  const flags = ['--core=0:0']
  for (const [key, flag] of PRLIMIT_FLAGS) {
    const value = limits[key]
    if (value === Number.POSITIVE_INFINITY) continue
    // CPU: the soft limit sends SIGXCPU (so the host can name the limit); the hard one a second later kills.
    const hard = key === 'cpuSeconds' ? value + 1 : value
    flags.push(`--${flag}=${value}:${hard}`)
  }
  return { command: prlimitPath, args: [...flags, '--', command.command, ...command.args] }
}

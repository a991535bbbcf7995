import { SandboxError } from './sandboxError.js'

/**
 * Resource limits for one sandboxed worker. `Infinity` leaves a limit off. Applied as rlimits with
 * soft = hard inside the sandbox (capabilities are dropped, so the worker cannot raise them), and,
 * where {@link createWorkerCgroup} finds a writable cgroup, as cgroup limits as well.
 */
export interface SandboxLimits {
  /**
   * Private memory cap: RLIMIT_DATA (every private writable mapping: the heap, numpy arrays, thread
   * stacks), with RLIMIT_AS at this plus {@link ADDRESS_SPACE_HEADROOM_BYTES} for what RLIMIT_DATA does
   * not count (shared mappings, libraries, malloc's reserved arenas); cgroup memory.max when available.
   * Python raises MemoryError past it.
   */
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

/**
 * How far RLIMIT_AS sits above `memoryBytes`. RLIMIT_AS counts reservations that cost no memory
 * (malloc arenas reserve 64 MiB of address space each, libraries map their files), so it cannot be the
 * memory limit without starving threads; it stays as the bound on what RLIMIT_DATA misses, chiefly
 * shared anonymous mappings (`mmap.mmap(-1, n)`). Measured: numpy, pandas, matplotlib and 256 threads
 * with a full 1 GiB of data take 1.3 GiB of address space.
 */
export const ADDRESS_SPACE_HEADROOM_BYTES = 2 * 1024 * 1024 * 1024

/**
 * The stack size of threads the worker starts (`threading.stack_size`) when memory is limited. Thread
 * stacks are private writable mappings, so RLIMIT_DATA counts them whole: at glibc's 8 MiB default a
 * 1 GiB limit holds about 120 threads, at 2 MiB about 500. 2 MiB is the smallest size measured to
 * raise RecursionError (not crash) at the default recursion limit through C-level recursion (repr,
 * json, `__init__`, sort keys); 1.5 MiB crashed.
 */
export const WORKER_THREAD_STACK_BYTES = 2 * 1024 * 1024

/**
 * glibc's malloc arenas for a memory-limited worker (`MALLOC_ARENA_MAX`). Each arena reserves 64 MiB of
 * address space and glibc makes up to 8 per core, so on a large machine the reservations alone would
 * pass RLIMIT_AS; 4 keeps them at 256 MiB.
 */
export const WORKER_MALLOC_ARENA_MAX = 4

type RlimitKey = Exclude<keyof SandboxLimits, 'memoryBytes'>

const PRLIMIT_FLAGS: ReadonlyArray<[RlimitKey, string]> = [
  ['maxProcesses', 'nproc'],
  ['maxOpenFiles', 'nofile'],
  ['maxFileSizeBytes', 'fsize'],
  ['cpuSeconds', 'cpu'],
]
const LIMIT_KEYS: ReadonlyArray<keyof SandboxLimits> = ['memoryBytes', ...PRLIMIT_FLAGS.map(([key]) => key)]

/** The rlimits of `limits` as `[name, soft, hard]` (prlimit's names), core dumps off first. */
function rlimitTriples(limits: SandboxLimits): Array<[string, number, number]> {
  validateSandboxLimits(limits)
  const triples: Array<[string, number, number]> = [['core', 0, 0]]
  if (limits.memoryBytes !== Number.POSITIVE_INFINITY) {
    const memory = limits.memoryBytes
    triples.push(['data', memory, memory])
    triples.push(['as', memory + ADDRESS_SPACE_HEADROOM_BYTES, memory + ADDRESS_SPACE_HEADROOM_BYTES])
  }
  for (const [key, flag] of PRLIMIT_FLAGS) {
    const value = limits[key]
    if (value === Number.POSITIVE_INFINITY) continue
    // CPU: the soft limit sends SIGXCPU (so the host can name the limit); the hard one a second later kills.
    triples.push([flag, value, key === 'cpuSeconds' ? value + 1 : value])
  }
  return triples
}

/**
 * Checks every limit is a positive integer or Infinity; throws INVALID_OPTIONS naming the field.
 */
export function validateSandboxLimits(limits: SandboxLimits): void {
  for (const key of LIMIT_KEYS) {
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
 * The limits as the worker's `CAPSULE_RLIMITS` variable (`data=…:…;as=…:…;nproc=…`): the worker applies
 * them to itself, soft = hard (CPU: hard one second later, so SIGXCPU names the limit), before any user
 * code runs. Needs no helper binary, so it works on any Unix with Python's `resource` module. With a
 * memory limit it also carries `thread_stack` ({@link WORKER_THREAD_STACK_BYTES}), which the worker
 * gives `threading.stack_size()`.
 */
export function rlimitsEnv(limits: SandboxLimits): string {
  const pairs = rlimitTriples(limits).map(([name, soft, hard]) => `${name}=${soft}:${hard}`)
  if (limits.memoryBytes !== Number.POSITIVE_INFINITY) {
    pairs.push(`thread_stack=${WORKER_THREAD_STACK_BYTES}:${WORKER_THREAD_STACK_BYTES}`)
  }
  return pairs.join(';')
}

/**
 * Environment a memory-limited worker starts with: `MALLOC_ARENA_MAX` ({@link WORKER_MALLOC_ARENA_MAX}),
 * which glibc reads once at start-up. Empty without a memory limit.
 */
export function memoryLimitEnv(limits: Pick<SandboxLimits, 'memoryBytes'>): Record<string, string> {
  return limits.memoryBytes === Number.POSITIVE_INFINITY
    ? {}
    : { MALLOC_ARENA_MAX: String(WORKER_MALLOC_ARENA_MAX) }
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
  const flags = rlimitTriples(limits).map(([name, soft, hard]) => `--${name}=${soft}:${hard}`)
  return { command: prlimitPath, args: [...flags, '--', command.command, ...command.args] }
}

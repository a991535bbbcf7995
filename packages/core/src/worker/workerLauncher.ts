import type { Writable } from 'node:stream'
import { memoryLimitEnv, openDefaultSeccompFd, type SandboxUidPool } from '@capsule/sandbox'
import { CapsuleError } from '../errors.js'
import type { CodecName } from '../protocol/codec.js'
import {
  buildSandboxCommand,
  createWorkerCgroup,
  rlimitsEnv,
  type SandboxLimits,
  type SandboxMount,
} from '../sandbox/index.js'
import { workerReadOnlyPaths } from '../sandbox/prepareSandbox.js'
import type { Limits } from '../session/limits.js'
import {
  MATPLOTLIB_FONT_CACHE_ENV,
  MATPLOTLIB_FONT_CACHE_TARGET,
  matplotlibFontCache,
} from './matplotlibFontCache.js'
import type { PythonInterpreterInfo } from './pythonInterpreter.js'
import { buildWorkerCommand } from './workerCommand.js'
import type { WorkerCommand } from './workerProcess.js'

/** How one worker is launched: with which interpreter, codec, isolation and limits. */
export interface WorkerLaunchOptions {
  interpreter: PythonInterpreterInfo
  codecs: readonly CodecName[]
  sandbox:
    | { mode: 'none' }
    | {
        mode: 'bwrap'
        bwrapPath: string
        mounts: readonly SandboxMount[]
        /** When the host runs as root: where the worker's own unprivileged host uid comes from. */
        users: SandboxUidPool | null
      }
  limits: Limits
  env?: Record<string, string>
  cwd?: string
}

const MIB = 1024 * 1024
const SECCOMP_FD = 5
const CGROUP_GATE_FD = 6

/**
 * glibc's malloc tuning for every worker (a user's `env` wins). At glibc's defaults a worker streaming a
 * large output frees each 1 MiB chunk back to the kernel and faults fresh pages in for the next one; on a
 * VM where first touch of memory runs at ~120 MB/s that alone held one 50 MB write to ~70 MB/s. Blocks up
 * to {@link WORKER_MALLOC_MMAP_THRESHOLD_BYTES} come from the heap instead of their own mapping, and up to
 * {@link WORKER_MALLOC_TRIM_THRESHOLD_BYTES} of free heap is kept for reuse (≈300 MB/s, bench `stdout`).
 * Not `MALLOC_TOP_PAD_`, which was as fast but pads every heap growth and so cost a 256 MiB worker a fifth
 * of the memory it could allocate.
 */
export const WORKER_MALLOC_MMAP_THRESHOLD_BYTES = 4 * MIB
/** See {@link WORKER_MALLOC_MMAP_THRESHOLD_BYTES}: the free heap a worker keeps rather than returns. */
export const WORKER_MALLOC_TRIM_THRESHOLD_BYTES = 32 * MIB

/** The rlimit/cgroup view of the session limits: 0 means no limit. */
export function sandboxLimitsOf(limits: Limits): SandboxLimits {
  const orInfinity = (value: number, scale = 1) => (value > 0 ? value * scale : Number.POSITIVE_INFINITY)
  return {
    memoryBytes: orInfinity(limits.memoryMb, MIB),
    maxProcesses: orInfinity(limits.maxProcesses),
    maxOpenFiles: orInfinity(limits.maxOpenFiles),
    maxFileSizeBytes: orInfinity(limits.maxFileSizeMb, MIB),
    cpuSeconds: orInfinity(limits.cpuSeconds),
  }
}

/**
 * Builds the command of one worker: plain python under rlimits, or python inside bubblewrap with a
 * seccomp filter, rlimits and, where the host allows, a cgroup for memory and processes. A root host's
 * sandboxed worker gets a uid of its own from `sandbox.users`, dropped by spawn before bwrap starts and
 * given back once the worker and its cgroup are gone.
 */
export function buildWorkerLaunch(options: WorkerLaunchOptions): WorkerCommand {
  const { interpreter, limits } = options
  const sandboxLimits = sandboxLimitsOf(limits)
  // The worker applies its rlimits itself, first thing, from CAPSULE_RLIMITS (no prlimit exec).
  const env: Record<string, string> = {
    MALLOC_MMAP_THRESHOLD_: String(WORKER_MALLOC_MMAP_THRESHOLD_BYTES),
    MALLOC_TRIM_THRESHOLD_: String(WORKER_MALLOC_TRIM_THRESHOLD_BYTES),
    ...memoryLimitEnv(sandboxLimits),
    ...options.env,
    CAPSULE_RLIMITS: rlimitsEnv(sandboxLimits),
  }
  // matplotlib's font list, built once by the host; the worker copies it into a directory of its own.
  const fontCache = matplotlibFontCache(interpreter)
  const fontCacheMounts: SandboxMount[] = fontCache
    ? [{ source: fontCache, target: MATPLOTLIB_FONT_CACHE_TARGET, write: false }]
    : []
  if (fontCache) {
    env[MATPLOTLIB_FONT_CACHE_ENV] =
      options.sandbox.mode === 'none' ? fontCache : MATPLOTLIB_FONT_CACHE_TARGET
  }
  if (options.sandbox.mode === 'none') {
    const plain = buildWorkerCommand({ interpreter, codecs: options.codecs, env, cwd: options.cwd })
    return { ...plain, classifyExit: (exit) => classifyLimitExit(exit, limits, null) }
  }
  const inner = buildWorkerCommand({ interpreter, codecs: options.codecs, env: { ...env, HOME: '/tmp' } })
  const lease = options.sandbox.users?.lease()
  const seccomp = openDefaultSeccompFd()
  let command: { command: string; args: string[]; env: Record<string, string> }
  try {
    command = buildSandboxCommand({
      bwrapPath: options.sandbox.bwrapPath,
      executable: interpreter.executable,
      args: inner.args,
      env: inner.env,
      cwd: '/tmp',
      readOnlyPaths: workerReadOnlyPaths(interpreter),
      mounts: [...options.sandbox.mounts, ...fontCacheMounts],
      tmpSizeBytes: limits.tmpSizeMb * MIB,
      keepFds: [3, 4],
      seccomp: { fd: SECCOMP_FD },
      network: false,
    })
  } catch (error) {
    seccomp.close()
    lease?.release()
    throw error
  }
  const cgroup = createWorkerCgroup(sandboxLimits)
  const launcher = cgroup ? cgroup.wrapCommand(command, CGROUP_GATE_FD) : command
  let notAdmitted: Error | undefined
  return {
    command: launcher.command,
    args: launcher.args,
    env: command.env,
    // The launcher's own working directory; the worker's is --chdir /tmp. A root host's cwd may be closed to the worker's uid.
    cwd: '/',
    ...(lease ? { uid: lease.uid, gid: lease.gid } : {}),
    extraStdio: cgroup ? [seccomp.fd, 'pipe'] : [seccomp.fd],
    signalsAsExitCodes: true,
    afterSpawn: (child) => {
      seccomp.close()
      notAdmitted = cgroup?.admit(child.pid, (child.stdio as unknown as Writable[])[CGROUP_GATE_FD]!)
    },
    afterExit: async () => {
      await cgroup?.dispose()
      // Only once nothing can still run as the uid (a cgroup that would not go keeps it leased).
      lease?.release()
    },
    classifyExit: (exit) =>
      notAdmitted && cgroup
        ? new CapsuleError(
            'WORKER_START_FAILED',
            `cannot move the worker into its cgroup ${cgroup.path}: ${notAdmitted.message}`,
            { cause: notAdmitted, details: { cgroup: cgroup.path } },
          )
        : classifyLimitExit(exit, limits, cgroup?.memoryEvents()?.oomKill ?? null),
  }
}

/** Names the limit a worker died of, when the way it died says so. */
function classifyLimitExit(
  exit: { exitCode: number | null; signal: NodeJS.Signals | null },
  limits: Limits,
  oomKills: number | null,
): CapsuleError | undefined {
  if (oomKills !== null && oomKills > 0) {
    return new CapsuleError(
      'LIMIT_EXCEEDED',
      `the worker used more than ${limits.memoryMb} MiB of memory (limits.memoryMb) and was killed`,
      {
        details: { limit: 'memory', memoryMb: limits.memoryMb },
      },
    )
  }
  if (exit.signal === 'SIGXCPU') {
    return new CapsuleError(
      'LIMIT_EXCEEDED',
      `the worker used more than ${limits.cpuSeconds} CPU ${limits.cpuSeconds === 1 ? 'second' : 'seconds'} (limits.cpuSeconds) and was killed`,
      {
        details: { limit: 'cpu', cpuSeconds: limits.cpuSeconds },
      },
    )
  }
  return undefined
}

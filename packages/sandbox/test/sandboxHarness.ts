// Runs Python code inside the real sandbox, the way the worker launch does: bwrap from
// buildSandboxCommand, frame pipes on fds 3 and 4, the seccomp program on fd 5.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import type { Readable, Writable } from 'node:stream'
import {
  buildSandboxCommand,
  buildSeccompFilter,
  openSeccompFd,
  type SandboxIdentity,
  type SandboxLimits,
  type SandboxMount,
  type WorkerCgroup,
} from '../src/index.js'

export const SYSTEM_PYTHON = '/usr/bin/python3'
export const PYENV_PYTHON = '/root/.pyenv/versions/3.11.7/bin/python3.11'
export const SECCOMP_FD = 5
export const CGROUP_GATE_FD = 6

export interface SandboxedRunOptions {
  python?: string
  readOnlyPaths?: string[]
  mounts?: SandboxMount[]
  env?: Record<string, string>
  seccomp?: boolean
  limits?: SandboxLimits
  tmpSizeBytes?: number
  /** A cgroup bwrap starts in (through its gate, as the worker launch does). */
  cgroup?: WorkerCgroup
  /** The host uid and gid bwrap is spawned as (a root host's sandbox user). */
  identity?: SandboxIdentity
  args?: string[]
}

export interface SandboxedProcess {
  child: ChildProcess
  toWorker: Writable
  fromWorker: Readable
  stdout: Readable
  done: Promise<SandboxedResult>
}

export interface SandboxedResult {
  exitCode: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Prefixes a python binary needs bound (its own, and a pyenv install's). */
export function pythonPaths(python: string): string[] {
  const prefix = python.replace(/\/bin\/[^/]+$/, '')
  return existsSync(prefix) ? [prefix] : []
}

export function startSandboxed(
  bwrapPath: string,
  code: string,
  options: SandboxedRunOptions = {},
): SandboxedProcess {
  const python = options.python ?? SYSTEM_PYTHON
  const useSeccomp = options.seccomp ?? true
  const seccomp = useSeccomp ? openSeccompFd(buildSeccompFilter()) : undefined
  const built = buildSandboxCommand({
    bwrapPath,
    executable: python,
    args: ['-I', '-c', code, ...(options.args ?? [])],
    env: options.env ?? { LANG: 'C.UTF-8', HOME: '/tmp' },
    readOnlyPaths: [...pythonPaths(python), ...(options.readOnlyPaths ?? [])],
    mounts: options.mounts ?? [],
    tmpSizeBytes: options.tmpSizeBytes ?? 16 * 1024 * 1024,
    keepFds: [3, 4],
    ...(seccomp ? { seccomp: { fd: SECCOMP_FD } } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    network: false,
  })
  const launcher = options.cgroup ? options.cgroup.wrapCommand(built, CGROUP_GATE_FD) : built
  const child = spawn(launcher.command, launcher.args, {
    env: built.env,
    cwd: '/',
    ...(options.identity ?? {}),
    stdio: [
      'ignore',
      'pipe',
      'pipe',
      'pipe',
      'pipe',
      seccomp ? seccomp.fd : 'ignore',
      ...(options.cgroup ? (['pipe'] as const) : []),
    ],
  })
  seccomp?.close()
  const failure = options.cgroup?.admit(child.pid, (child.stdio as unknown as Writable[])[CGROUP_GATE_FD]!)
  if (failure) throw failure
  const [, stdout, stderr, toWorker, fromWorker] = child.stdio as [
    unknown,
    Readable,
    Readable,
    Writable,
    Readable,
  ]
  let out = ''
  let err = ''
  stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
  })
  stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk
  })
  // The pipes may be closed by the far end before the test writes: that is a result, not a crash.
  toWorker.on('error', () => {})
  fromWorker.on('error', () => {})
  const done = new Promise<SandboxedResult>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (exitCode, signal) => resolve({ exitCode, signal, stdout: out, stderr: err }))
  })
  return { child, toWorker, fromWorker, stdout, done }
}

/** Runs code to the end and parses the last stdout line as JSON. */
export async function runSandboxed(
  bwrapPath: string,
  code: string,
  options: SandboxedRunOptions = {},
): Promise<SandboxedResult & { json: unknown }> {
  const proc = startSandboxed(bwrapPath, code, options)
  proc.toWorker.end()
  const result = await proc.done
  const last = result.stdout.trim().split('\n').at(-1) ?? ''
  let json: unknown
  try {
    json = JSON.parse(last)
  } catch {
    json = undefined
  }
  return { ...result, json }
}

/** Python prelude: `attempt(fn)` returns 'ok' or the errno name of the OSError it raised. */
export const ATTEMPT = `
import ctypes, errno, json, os, socket, sys
def attempt(fn):
    try:
        fn()
        return 'ok'
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e))
libc = ctypes.CDLL(None, use_errno=True)
def syscall(nr, *args):
    r = libc.syscall(nr, *[ctypes.c_long(a) for a in args])
    return 'ok' if r >= 0 else errno.errorcode.get(ctypes.get_errno(), '?')
`

/** What {@link PROC_WRITE_PROBE} prints. */
export interface ProcWriteProbe {
  /** Files tried under /proc/sys, /proc/irq, /proc/bus and /proc/sysrq-trigger. */
  files: number
  /** The ones that opened for writing (nothing is written to them). */
  writable: string[]
  /** How many refused, by errno name. */
  refused: Record<string, number>
  /** Per kernel view that exists: bytes read, or the errno name opening or reading it failed with. */
  masked: Record<string, number | string>
}

/**
 * Python that walks /proc/sys, /proc/irq and /proc/bus (and tries /proc/sysrq-trigger) and opens every
 * file O_WRONLY, closing it at once: it never writes a byte, so not even a test run on a broken
 * sandbox can change a host sysctl. Prints a {@link ProcWriteProbe}.
 */
export const PROC_WRITE_PROBE = `
import errno, json, os
files, writable, refused = 0, [], {}
def try_open(path):
    global files
    files += 1
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as e:
        name = errno.errorcode.get(e.errno, str(e.errno))
        refused[name] = refused.get(name, 0) + 1
    else:
        os.close(fd)
        writable.append(path)
for top in ('/proc/sys', '/proc/irq', '/proc/bus'):
    for root, dirs, names in os.walk(top):
        for name in names:
            try_open(os.path.join(root, name))
if os.path.exists('/proc/sysrq-trigger'):
    try_open('/proc/sysrq-trigger')
masked = {}
for path in ('/proc/kcore', '/proc/kmsg', '/proc/keys', '/proc/timer_list'):
    if os.path.exists(path):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as e:
            masked[path] = errno.errorcode.get(e.errno, str(e.errno))
            continue
        try:
            masked[path] = len(os.read(fd, 4096))
        except OSError as e:
            masked[path] = errno.errorcode.get(e.errno, str(e.errno))
        finally:
            os.close(fd)
print(json.dumps({'files': files, 'writable': writable[:50], 'refused': refused, 'masked': masked}))
`

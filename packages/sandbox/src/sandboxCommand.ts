import { lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs'
import { homedir } from 'node:os'
import { isAbsolute, posix } from 'node:path'
import { procHardeningArgs } from './procHardening.js'
import { SandboxError } from './sandboxError.js'
import { generatedEtcDir, SANDBOX_GID, SANDBOX_HOSTNAME, SANDBOX_UID, sandboxEtcArgs } from './sandboxEtc.js'
import type { EtcMountPoint } from './sandboxEtcCopy.js'
import { applyLimitsCommand, DEFAULT_PRLIMIT_PATH, type SandboxLimits } from './sandboxLimits.js'

export { SANDBOX_GID, SANDBOX_HOSTNAME, SANDBOX_UID } from './sandboxEtc.js'

/** A host directory made visible inside the sandbox on purpose. */
export interface SandboxMount {
  /** Absolute host path. */
  source: string
  /** Absolute path inside the sandbox; defaults to `source`. */
  target?: string
  /** Read-write when true. Writes land on the host directly. */
  write: boolean
}

/** Everything {@link buildSandboxCommand} needs to launch one worker under bubblewrap. */
export interface SandboxRequest {
  /** Absolute path of the bwrap binary (see {@link probeSandbox}). */
  bwrapPath: string
  /**
   * Absolute real path of the Python binary. The file itself is bound read-only; its directories are
   * not (list the interpreter's prefixes in `readOnlyPaths`).
   */
  executable: string
  /** Python's argv after the executable. */
  args: string[]
  /**
   * The complete environment the worker sees. It is not put on bwrap's command line (argv is
   * world-readable in /proc): spawn bwrap with exactly {@link SandboxCommand.env}.
   */
  env: Record<string, string>
  /** Working directory inside the sandbox; defaults to /tmp. */
  cwd?: string
  /**
   * Host paths bound read-only at the same path: the interpreter prefix(es), sys.path entries, the
   * worker's source directory. Missing paths are skipped; paths under another one (or under /usr) are
   * covered by it. `/`, a home directory, or a directory holding one is refused with
   * SANDBOX_UNAVAILABLE unless a `mounts` source names it (see {@link resolveReadOnlyBinds}).
   */
  readOnlyPaths: string[]
  /**
   * Explicit host directories, bound after everything else. These are outside the capability audit:
   * code in the sandbox reaches them with plain `open()`.
   */
  mounts: SandboxMount[]
  /** Size cap of the private tmpfs on /tmp, in bytes. */
  tmpSizeBytes: number
  /** Size cap of the private tmpfs on /dev/shm, in bytes (default {@link DEFAULT_SHM_SIZE_BYTES}). */
  shmSizeBytes?: number
  /**
   * Descriptors the worker inherits (the frame pipes, 3 and 4). bwrap passes inherited descriptors
   * through unchanged; they are listed so collisions with `seccomp.fd` are caught here.
   */
  keepFds: number[]
  /** The descriptor (in bwrap's fd table, i.e. the spawn stdio index) holding the seccomp program. */
  seccomp?: { fd: number }
  /** rlimits applied inside the sandbox, soft = hard, through util-linux prlimit. */
  limits?: SandboxLimits
  /** prlimit's path; must be visible inside the sandbox (it is when it lives under /usr). */
  prlimitPath?: string
  /**
   * The host directory bound read-only as the sandbox's whole `/etc` (default: {@link generatedEtcDir}
   * for the mount points `mounts` has below /etc). One given here must already hold those mount
   * points. Tests of the command line pass a fixed path.
   */
  generatedEtcDir?: string
  /** The sandbox never has a network. The field is here so a caller states it. */
  network: false
}

/** The launcher to spawn: `spawn(command, args, { env, stdio })`. */
export interface SandboxCommand {
  command: string
  args: string[]
  /** The worker's environment, passed to bwrap through `spawn`'s `env` and inherited unchanged. */
  env: Record<string, string>
}

/** What {@link buildSandboxCommand} needs to know about the host's filesystem. */
export interface HostFilesystem {
  /** The kind of `path` without following a final symlink. */
  kind(path: string): 'dir' | 'file' | 'symlink' | 'missing'
  /** A symlink's target. */
  readlink(path: string): string
  /** The canonical path, or null when it does not resolve. */
  realpath(path: string): string | null
  /** Home directories never bound whole: /root, each /home/*, $HOME (default: the real host's). */
  homeDirectories?(): string[]
}

/** Default /dev/shm size: enough for multiprocessing's semaphores, not a second /tmp. */
export const DEFAULT_SHM_SIZE_BYTES = 16 * 1024 * 1024

// Top-level directories that are symlinks into /usr on merged-/usr distributions and real
// directories elsewhere: mirrored as whichever they are on the host.
const ROOT_LIB_DIRS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']
// Paths that are the sandbox's own and must not be replaced by a host bind.
const RESERVED_TARGETS = ['/', '/proc', '/dev', '/tmp', '/etc']

/** Reads the real host filesystem (synchronously; a handful of lstat calls). */
export const realHostFilesystem: HostFilesystem = {
  kind(path) {
    try {
      const stat = lstatSync(path)
      return stat.isSymbolicLink() ? 'symlink' : stat.isDirectory() ? 'dir' : 'file'
    } catch {
      return 'missing'
    }
  },
  readlink: (path) => readlinkSync(path),
  realpath(path) {
    try {
      return realpathSync(path)
    } catch {
      return null
    }
  },
  homeDirectories() {
    const homes = new Set(['/root'])
    try {
      for (const name of readdirSync('/home')) homes.add(posix.join('/home', name))
    } catch {}
    for (const home of [process.env.HOME, homedir()]) {
      if (home && isAbsolute(home)) homes.add(posix.resolve(home))
    }
    return [...homes]
  },
}

/**
 * The bubblewrap arguments every Capsule sandbox starts with, the worker's and each shell command's:
 * every namespace unshared, a user namespace for sure and none nested inside it, no capabilities, a new
 * session (no controlling terminal to inject keystrokes into) and death with the parent.
 */
export const BWRAP_ISOLATION_ARGS: readonly string[] = Object.freeze([
  '--unshare-all',
  // As real root, --unshare-all only *tries* a user namespace; --disable-userns needs one for sure.
  '--unshare-user',
  '--disable-userns',
  '--die-with-parent',
  '--new-session',
  '--cap-drop',
  'ALL',
])

/**
 * Builds the bwrap command line that runs `request.executable` in a fresh sandbox: every namespace
 * unshared (user, pid, net, ipc, uts, cgroup, mount), no capabilities, no new user namespaces,
 * read-only /usr and interpreter paths, private size-capped /tmp and /dev/shm, a minimal /dev and
 * /etc, its own /proc with /proc/sys and its kin read-only and kernel views masked, no host home,
 * /run, /var or /sys, a read-only root, a new session (no controlling terminal) and death with its
 * parent. Its one side effect is the directory bound as /etc, copied once per process and again when
 * the host's entries change (see {@link generatedEtcDir}) unless `request.generatedEtcDir` names one;
 * it reads the host filesystem through `host` only to mirror /bin-style symlinks, skip missing paths,
 * recognise home directories and tell file mounts under /etc from directory ones.
 * Throws INVALID_OPTIONS for a malformed request, SANDBOX_UNAVAILABLE for a read-only path that would
 * expose a home directory or the whole host.
 */
export function buildSandboxCommand(
  request: SandboxRequest,
  host: HostFilesystem = realHostFilesystem,
): SandboxCommand {
  validateRequest(request)
  const args: string[] = [
    ...BWRAP_ISOLATION_ARGS,
    '--hostname',
    SANDBOX_HOSTNAME,
    '--uid',
    String(SANDBOX_UID),
    '--gid',
    String(SANDBOX_GID),
    '--ro-bind',
    '/usr',
    '/usr',
  ]
  for (const dir of ROOT_LIB_DIRS) {
    const kind = host.kind(dir)
    if (kind === 'symlink') args.push('--symlink', host.readlink(dir), dir)
    else if (kind === 'dir') args.push('--ro-bind', dir, dir)
  }
  // /etc: what the loader and distribution packages read, and generated hosts/passwd/group/nsswitch.conf.
  args.push(
    ...sandboxEtcArgs(request.generatedEtcDir ?? generatedEtcDir(etcMountPoints(request.mounts, host))),
  )
  const shmSize = request.shmSizeBytes ?? DEFAULT_SHM_SIZE_BYTES
  const proc = procHardeningArgs(host)
  args.push(
    '--proc',
    '/proc',
    ...proc.args,
    '--dev',
    '/dev',
    '--size',
    String(shmSize),
    '--tmpfs',
    '/dev/shm',
    '--size',
    String(request.tmpSizeBytes),
    '--tmpfs',
    '/tmp',
  )
  const roots = resolveReadOnlyBinds([request.executable, ...request.readOnlyPaths], request.mounts, host)
  for (const path of roots) args.push('--ro-bind', path, path)
  for (const mount of request.mounts) {
    args.push(mount.write ? '--bind' : '--ro-bind', mount.source, mount.target ?? mount.source)
  }
  // Last: the tmpfs bwrap builds the root from, and /dev's tmpfs (and /proc's masking ones), are
  // writable and uncapped until remounted read-only (mounts on top of them keep their own flags).
  for (const path of proc.remountReadOnly) args.push('--remount-ro', path)
  args.push('--remount-ro', '/dev', '--remount-ro', '/', '--chdir', request.cwd ?? '/tmp')
  if (request.seccomp) args.push('--seccomp', String(request.seccomp.fd))
  const inner = request.limits
    ? applyLimitsCommand(
        request.limits,
        { command: request.executable, args: request.args },
        request.prlimitPath ?? DEFAULT_PRLIMIT_PATH,
      )
    : { command: request.executable, args: request.args }
  args.push('--', inner.command, ...inner.args)
  return { command: request.bwrapPath, args, env: { ...request.env } }
}

/** The targets of `mounts` below /etc, which must exist in the read-only /etc before bwrap mounts on them. */
function etcMountPoints(mounts: readonly SandboxMount[], host: HostFilesystem): EtcMountPoint[] {
  const points: EtcMountPoint[] = []
  for (const mount of mounts) {
    const target = posix.resolve(mount.target ?? mount.source)
    if (!target.startsWith('/etc/')) continue
    const source = host.realpath(mount.source)
    const kind = source !== null && host.kind(source) === 'file' ? 'file' : 'dir'
    points.push({ path: target.slice('/etc/'.length), kind })
  }
  return points
}

/**
 * The host paths {@link buildSandboxCommand} binds read-only for `paths`: resolved (a symlinked path at
 * its real and its literal spelling), missing ones skipped, nested ones and those under /usr covered by
 * their parent, parents first. Throws SANDBOX_UNAVAILABLE for `/`, a home directory or a directory
 * holding one (binding it would hand sandboxed code every file in it, keys included) unless a `mounts`
 * source is that path or above it: the host named it on purpose.
 */
export function resolveReadOnlyBinds(
  paths: readonly string[],
  mounts: readonly SandboxMount[],
  host: HostFilesystem = realHostFilesystem,
): string[] {
  const named = mounts.map((mount) => host.realpath(mount.source) ?? posix.resolve(mount.source))
  const homes = (host.homeDirectories ?? realHostFilesystem.homeDirectories!)().flatMap((home) => {
    const real = host.realpath(home)
    return real === null || real === home ? [home] : [home, real]
  })
  const candidates = new Set<string>()
  for (const path of paths) {
    const real = host.realpath(path)
    if (real === null || host.kind(real) === 'missing') continue
    candidates.add(real)
    // Python may use the unresolved spelling (a venv's prefix behind a symlink): bind that too,
    // unless it runs through one of the root symlinks mirrored above.
    const literal = posix.resolve(path)
    const viaRootLink = ROOT_LIB_DIRS.some((dir) => literal === dir || literal.startsWith(`${dir}/`))
    if (literal !== real && !viaRootLink) candidates.add(literal)
  }
  for (const path of candidates) {
    if (named.some((source) => isWithin(path, source))) continue
    const exposed = path === '/' ? '/' : homes.find((home) => isWithin(home, path))
    if (exposed === undefined) continue
    const what =
      exposed === '/'
        ? 'the root directory'
        : exposed === path
          ? 'a home directory'
          : `a directory holding the home directory ${exposed}`
    throw new SandboxError(
      'SANDBOX_UNAVAILABLE',
      `sandbox: ${path} is ${what}; binding it read-only would let sandboxed code read everything in it ` +
        'with plain open(), keys included. Use an interpreter installed outside home directories ' +
        `(e.g. /usr/bin/python3, or a virtual environment under /opt), or name ${path} in \`mounts\` to accept that.`,
      { details: { reason: 'exposes-home', path, home: exposed } },
    )
  }
  const chosen: string[] = ['/usr']
  for (const path of [...candidates].sort((a, b) => a.length - b.length || a.localeCompare(b))) {
    if (chosen.some((parent) => path === parent || path.startsWith(`${parent}/`))) continue
    if (
      RESERVED_TARGETS.some(
        (reserved) => path === reserved || (reserved !== '/' && path.startsWith(`${reserved}/`)),
      )
    ) {
      // Under /tmp is fine (bound on top of the private tmpfs); /, /proc, /dev and /etc are not.
      if (!path.startsWith('/tmp/')) continue
    }
    chosen.push(path)
  }
  return chosen.slice(1)
}

/** Whether `path` is `parent` or below it. */
function isWithin(path: string, parent: string): boolean {
  return path === parent || path.startsWith(parent === '/' ? '/' : `${parent}/`)
}

function validateRequest(request: SandboxRequest): void {
  const fail = (message: string): never => {
    throw new SandboxError('INVALID_OPTIONS', `sandbox: ${message}`)
  }
  if (!isAbsolute(request.bwrapPath)) fail(`bwrapPath must be absolute (got ${request.bwrapPath})`)
  if (!isAbsolute(request.executable)) fail(`executable must be absolute (got ${request.executable})`)
  if (request.network !== false) fail('network must be false: the sandbox has no network')
  if (!Number.isSafeInteger(request.tmpSizeBytes) || request.tmpSizeBytes < 1) {
    fail(`tmpSizeBytes must be an integer ≥ 1 (got ${request.tmpSizeBytes})`)
  }
  if (
    request.shmSizeBytes !== undefined &&
    (!Number.isSafeInteger(request.shmSizeBytes) || request.shmSizeBytes < 1)
  ) {
    fail(`shmSizeBytes must be an integer ≥ 1 (got ${request.shmSizeBytes})`)
  }
  if (request.cwd !== undefined && !isAbsolute(request.cwd)) fail(`cwd must be absolute (got ${request.cwd})`)
  for (const path of request.readOnlyPaths) {
    if (!isAbsolute(path)) fail(`readOnlyPaths entries must be absolute (got ${path})`)
  }
  for (const mount of request.mounts) {
    const target = mount.target ?? mount.source
    if (!isAbsolute(mount.source)) fail(`mount source must be absolute (got ${mount.source})`)
    if (!isAbsolute(target)) fail(`mount target must be absolute (got ${target})`)
    if (RESERVED_TARGETS.includes(posix.resolve(target)))
      fail(`mount target ${target} is reserved by the sandbox`)
  }
  const fds = [...request.keepFds, ...(request.seccomp ? [request.seccomp.fd] : [])]
  for (const fd of fds) {
    if (!Number.isSafeInteger(fd) || fd < 3) fail(`descriptors must be integers ≥ 3 (got ${fd})`)
  }
  if (new Set(fds).size !== fds.length) fail(`descriptors collide: ${fds.join(', ')}`)
  for (const [key, value] of Object.entries(request.env)) {
    if (key === '' || key.includes('=') || key.includes('\0') || value.includes('\0')) {
      fail(`env entry ${JSON.stringify(key)} is not a valid environment variable`)
    }
  }
}

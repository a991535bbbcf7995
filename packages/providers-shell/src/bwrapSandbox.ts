import { spawnSync } from 'node:child_process'
import { accessSync, constants, existsSync, lstatSync, readlinkSync } from 'node:fs'
import path from 'node:path'
import {
  BWRAP_ISOLATION_ARGS,
  buildSeccompFilter,
  openSeccompFd,
  procHardeningArgs,
  realHostFilesystem,
  type SandboxIdentity,
} from '@capsule/sandbox'
import { isInside, type ResolvedRoot } from './pathGuard.js'

/** Directories bound read-only (or recreated as the same symlinks) so programs and their libraries load. */
const SYSTEM_DIRS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']

/**
 * Files of /etc made visible: the loader cache, user and group names (for `ls -l`), name service
 * switch, time zone and the alternatives links Debian programs go through. Nothing else of /etc.
 */
const ETC_FILES = [
  '/etc/ld.so.cache',
  '/etc/passwd',
  '/etc/group',
  '/etc/nsswitch.conf',
  '/etc/localtime',
  '/etc/alternatives',
]

/** Extra /etc entries when `network: true`, so names resolve and TLS verifies. */
const ETC_NETWORK_FILES = [
  '/etc/resolv.conf',
  '/etc/hosts',
  '/etc/ssl',
  '/etc/ca-certificates',
  '/etc/gai.conf',
]

/** The descriptor a sandboxed command's bwrap reads the seccomp program from (its stdio index). */
export const SECCOMP_FD = 3

const probeCache = new Map<string, string | undefined>()

/** Finds an executable `bwrap` in `searchPath`, or undefined. */
export function findBwrap(searchPath: readonly string[]): string | undefined {
  for (const dir of searchPath) {
    const candidate = path.join(dir, 'bwrap')
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  return undefined
}

/**
 * Whether bubblewrap works here, by running `true` inside the same kind of sandbox (seccomp program
 * included), as `identity` when given (a root host's commands run as an unprivileged uid, for which
 * the kernel may refuse user namespaces it grants root), once per bwrap path and identity (cached for
 * the process). Returns undefined when it works, or why it does not.
 */
export function probeBwrap(
  bwrapPath: string,
  truePath: string,
  identity?: SandboxIdentity,
): string | undefined {
  const key = `${bwrapPath}\0${identity ? `${identity.uid}:${identity.gid}` : ''}`
  if (probeCache.has(key)) return probeCache.get(key)
  let failure: string | undefined
  let seccomp: ReturnType<typeof openSeccompFd> | undefined
  try {
    seccomp = openSeccompFd(buildSeccompFilter())
    const args = bwrapArgs({ roots: [], network: false, cwd: '/', program: truePath })
    const result = spawnSync(bwrapPath, [...args, truePath], {
      stdio: ['ignore', 'ignore', 'pipe', seccomp.fd],
      cwd: '/',
      timeout: 5000,
      ...(identity ?? {}),
    })
    failure =
      result.error !== undefined
        ? result.error.message
        : result.status !== 0
          ? `bwrap exited with ${result.status ?? result.signal}: ${result.stderr.toString('utf8').trim().slice(0, 200)}`
          : undefined
  } catch (error) {
    // No seccomp table for this architecture: the sandbox would be weaker than the worker's.
    failure = (error as Error).message
  } finally {
    seccomp?.close()
  }
  probeCache.set(key, failure)
  return failure
}

/** What one sandboxed command needs. */
export interface BwrapPlan {
  roots: readonly ResolvedRoot[]
  network: boolean
  /** Working directory, a real path inside a root (the same path inside the sandbox). */
  cwd: string
  /** The resolved program; bound read-only when it lives outside the system directories. */
  program: string
  /** Mount arguments applied over the roots (hidden paths masked, see hiddenPaths.ts). */
  masks?: readonly string[]
}

/**
 * bubblewrap arguments up to and including `--`: every namespace unshared, a user namespace for sure
 * and none nested (network kept only with `network: true`), no capabilities, a new session (no
 * terminal injection), dies with its parent, system directories read-only, a minimal /etc, fresh
 * /proc (with /proc/sys and its kin read-only and kernel views masked, as for the worker), /dev and
 * /tmp, the roots bound at their own paths (read-write only when configured so), and the worker's
 * seccomp program read from descriptor {@link SECCOMP_FD}. Nothing else of the host is visible.
 */
export function bwrapArgs(plan: BwrapPlan): string[] {
  const args = [...BWRAP_ISOLATION_ARGS]
  if (plan.network) args.push('--share-net')
  for (const dir of SYSTEM_DIRS) {
    if (!existsSync(dir)) continue
    const stat = lstatSync(dir)
    if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir)
    else args.push('--ro-bind', dir, dir)
  }
  for (const file of plan.network ? [...ETC_FILES, ...ETC_NETWORK_FILES] : ETC_FILES)
    args.push('--ro-bind-try', file, file)
  const proc = procHardeningArgs(realHostFilesystem)
  args.push('--proc', '/proc', ...proc.args, '--dev', '/dev', '--tmpfs', '/tmp')
  // Parents first, so a nested root is bound on top of its parent; all after /tmp so a root under
  // /tmp is not hidden by the fresh tmpfs.
  for (const root of [...plan.roots].sort((a, b) => a.path.length - b.path.length)) {
    args.push(root.write ? '--bind' : '--ro-bind', root.path, root.path)
  }
  if (plan.masks !== undefined) args.push(...plan.masks)
  const covered =
    SYSTEM_DIRS.some((dir) => isInside(plan.program, dir)) ||
    plan.roots.some((r) => isInside(plan.program, r.path))
  if (!covered) args.push('--ro-bind', plan.program, plan.program)
  // Masking tmpfs mounts are writable until remounted read-only.
  for (const dir of proc.remountReadOnly) args.push('--remount-ro', dir)
  args.push('--seccomp', String(SECCOMP_FD), '--chdir', plan.cwd, '--')
  return args
}

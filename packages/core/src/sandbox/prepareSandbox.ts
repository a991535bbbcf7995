import { workerRoot } from '@capsule/python-worker'
import {
  type PathNeed,
  probeSandbox,
  resolveReadOnlyBinds,
  type SandboxMount,
  type SandboxUidPool,
  sandboxUnavailableError,
  unreachablePaths,
} from '@capsule/sandbox'
import { CapsuleError } from '../errors.js'
import type { PythonInterpreterInfo } from '../worker/pythonInterpreter.js'

/** What every sandboxed worker of one Capsule shares, checked once by {@link prepareSandbox}. */
export interface SandboxPlan {
  bwrapPath: string
  mounts: readonly SandboxMount[]
  /** Where each worker's host uid comes from when the host runs as root; null: the host's own user. */
  users: SandboxUidPool | null
}

/** What {@link prepareSandbox} checks. */
export interface PrepareSandboxOptions {
  /** The bubblewrap binary (default: `bwrap` on PATH). */
  bwrapPath?: string
  interpreter: PythonInterpreterInfo
  mounts: readonly SandboxMount[]
  /** The uid pool when the host runs as root, else null. */
  users: SandboxUidPool | null
}

/**
 * The host paths a sandboxed worker needs read-only: the interpreter's prefixes and `sys.path` as Python
 * reports them, and the worker's sources. Nothing is guessed from where the executable lives.
 */
export function workerReadOnlyPaths(interpreter: PythonInterpreterInfo): string[] {
  return [
    interpreter.prefix,
    interpreter.basePrefix,
    interpreter.execPrefix,
    interpreter.baseExecPrefix,
    ...interpreter.sysPath,
    workerRoot,
  ]
}

/**
 * Makes sure sandboxed workers can start, before any does: bubblewrap works (as the sandbox user, when
 * the host is root), no read-only path would expose a home directory or `/`, a uid can be leased, and
 * the sandbox user can run the interpreter, read everything bound and use each mount as asked. Throws
 * SANDBOX_UNAVAILABLE naming the fix; never falls back to running the worker as root.
 */
export async function prepareSandbox(options: PrepareSandboxOptions): Promise<SandboxPlan> {
  const { interpreter, mounts, users } = options
  // First, so an unmapped uid range or an unsafe lease directory is named before anything runs as it.
  users?.lease().release()
  const identity = users?.representative
  const probe = await probeSandbox(options.bwrapPath, identity)
  if (!probe.available) throw sandboxUnavailableError(probe)
  const binds = resolveReadOnlyBinds([interpreter.executable, ...workerReadOnlyPaths(interpreter)], mounts)
  if (identity) {
    const needs: PathNeed[] = [
      { path: interpreter.executable, access: 'execute' },
      ...binds
        .filter((path) => path !== interpreter.executable)
        .map((path) => ({ path, access: 'read' as const })),
      ...mounts.map((mount) => ({
        path: mount.source,
        access: mount.write ? ('write' as const) : ('read' as const),
      })),
    ]
    const missing = unreachablePaths(identity, needs)
    if (missing.length > 0) throw unreachableError(identity, missing, interpreter, mounts)
  }
  return { bwrapPath: probe.bwrapPath, mounts, users }
}

function unreachableError(
  identity: { uid: number; gid: number },
  missing: PathNeed[],
  interpreter: PythonInterpreterInfo,
  mounts: readonly SandboxMount[],
): CapsuleError {
  const list = missing.map((need) => `${need.access} ${need.path}`).join(', ')
  const isMount = (need: PathNeed) => mounts.some((mount) => mount.source === need.path)
  const fixes: string[] = []
  if (missing.some((need) => !isMount(need))) {
    const underRoot = missing.some((need) => need.path === '/root' || need.path.startsWith('/root/'))
    fixes.push(
      underRoot
        ? `${interpreter.executable} lives under /root, which only root may enter: use an interpreter installed elsewhere (e.g. python: '/usr/bin/python3')`
        : "use an interpreter every user may read (e.g. python: '/usr/bin/python3'), or let others read it (chmod o+rX on it and each directory above it)",
    )
  }
  if (missing.some(isMount)) {
    fixes.push(
      `give each mount to the sandbox group (chgrp ${identity.gid} DIR && chmod g+rX DIR, g+rwX for a writable one)`,
    )
  }
  fixes.push(
    "or set sandboxUser to ids that can, or opt out with sandbox: 'none' (the worker then runs as root)",
  )
  return new CapsuleError(
    'SANDBOX_UNAVAILABLE',
    `the host runs as root, so sandboxed workers run as uid ${identity.uid} (gid ${identity.gid}), which cannot ${list}. Fix: ${fixes.join('; ')}`,
    { details: { reason: 'unreachable', uid: identity.uid, gid: identity.gid, paths: missing } },
  )
}

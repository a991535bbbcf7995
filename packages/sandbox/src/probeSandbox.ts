import { execFile } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, isAbsolute, join } from 'node:path'
import { buildSandboxCommand } from './sandboxCommand.js'
import { SandboxError } from './sandboxError.js'
import type { SandboxIdentity } from './sandboxUidPool.js'

/** Why bubblewrap cannot be used on this machine. */
export type SandboxUnavailableReason =
  | 'not-found'
  | 'not-executable'
  | 'too-old'
  | 'userns-blocked'
  | 'failed'

/** The outcome of {@link probeSandbox}. */
export type SandboxProbe =
  | { available: true; bwrapPath: string; version: string }
  | {
      available: false
      /** The path probed (as given, or `bwrap` when it was not found on PATH). */
      bwrapPath: string
      reason: SandboxUnavailableReason
      /** What went wrong, with bwrap's own message when it printed one. */
      message: string
      /** How to fix it, or how to opt out. */
      hint: string
    }

/** The oldest bubblewrap with every flag {@link buildSandboxCommand} uses (`--disable-userns`). */
export const MIN_BWRAP_VERSION = '0.8.0'

const PROBE_TIMEOUT_MS = 5_000
const OPT_OUT =
  "Or run without an OS sandbox by choosing sandbox: 'none' (the worker then has the host user's access)."
const INSTALL_HINT = `Install bubblewrap ≥ ${MIN_BWRAP_VERSION} (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap). ${OPT_OUT}`
const USERNS_HINT =
  'The kernel refused an unprivileged user namespace. On Ubuntu ≥ 23.10 AppArmor restricts them: ' +
  'sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0 (or install an AppArmor profile for bwrap ' +
  'granting "userns,"). On older Debian: sudo sysctl kernel.unprivileged_userns_clone=1. Elsewhere check ' +
  'user.max_user_namespaces > 0. In Docker, the default seccomp profile blocks namespaces: run the container with a profile that allows them. ' +
  OPT_OUT
// What bwrap prints when the kernel, AppArmor or a container runtime refuses the namespaces.
const USERNS_PATTERNS = [
  /setting up uid map/i,
  /no permissions to create new namespace/i,
  /creating new namespace failed/i,
  /unprivileged user namespaces/i,
  /loopback: Failed RTM_NEWADDR/i,
  /Operation not permitted/i,
]

const cache = new Map<string, Promise<SandboxProbe>>()

/**
 * Finds out whether bubblewrap can start a sandbox here: resolves `bwrapPath` (default: `bwrap` on
 * PATH), reads its version, then starts `/usr/bin/true` under the very flags the worker gets, as
 * `identity` when given (a root host's sandboxes run as an unprivileged uid, for which the kernel may
 * refuse user namespaces it grants root). The answer is cached per path and identity for the life of
 * the process. Never rejects.
 */
export function probeSandbox(bwrapPath?: string, identity?: SandboxIdentity): Promise<SandboxProbe> {
  const key = `${bwrapPath ?? ''}\0${identity ? `${identity.uid}:${identity.gid}` : ''}`
  let probe = cache.get(key)
  if (!probe) {
    probe = runProbe(bwrapPath, identity)
    cache.set(key, probe)
  }
  return probe
}

/** The SANDBOX_UNAVAILABLE error for a failed probe: message and hint together, the probe in `details`. */
export function sandboxUnavailableError(probe: Extract<SandboxProbe, { available: false }>): SandboxError {
  return new SandboxError('SANDBOX_UNAVAILABLE', `${probe.message}. ${probe.hint}`, {
    details: { reason: probe.reason, bwrapPath: probe.bwrapPath, hint: probe.hint },
  })
}

async function runProbe(requested: string | undefined, identity?: SandboxIdentity): Promise<SandboxProbe> {
  const path = requested ?? findOnPath('bwrap')
  const unavailable = (reason: SandboxUnavailableReason, message: string, hint: string): SandboxProbe => ({
    available: false,
    bwrapPath: path ?? 'bwrap',
    reason,
    message,
    hint,
  })
  if (path === undefined) return unavailable('not-found', 'bubblewrap (bwrap) is not on PATH', INSTALL_HINT)
  if (!isAbsolute(path))
    return unavailable('not-found', `bwrapPath must be absolute (got ${path})`, INSTALL_HINT)

  const version = await run(path, ['--version'])
  if (version.error?.code === 'ENOENT')
    return unavailable('not-found', `${path} does not exist`, INSTALL_HINT)
  if (version.error?.code === 'EACCES')
    return unavailable('not-executable', `${path} is not executable`, INSTALL_HINT)
  const match = /bubblewrap\s+(\d+)\.(\d+)\.(\d+)/.exec(version.stdout)
  if (!match) {
    return unavailable(
      'failed',
      `${path} --version printed no bubblewrap version: ${summary(version)}`,
      INSTALL_HINT,
    )
  }
  const found = `${match[1]}.${match[2]}.${match[3]}`
  if (compareVersions(found, MIN_BWRAP_VERSION) < 0) {
    return unavailable('too-old', `bubblewrap ${found} is older than ${MIN_BWRAP_VERSION}`, INSTALL_HINT)
  }

  const command = buildSandboxCommand({
    bwrapPath: path,
    executable: '/usr/bin/true',
    args: [],
    env: {},
    readOnlyPaths: [],
    mounts: [],
    tmpSizeBytes: 1024 * 1024,
    keepFds: [],
    network: false,
  })
  const trial = await run(command.command, command.args, identity)
  if (trial.exitCode === 0 && !trial.error) return { available: true, bwrapPath: path, version: found }
  const text = summary(trial)
  const as = identity ? ` as the sandbox uid ${identity.uid}` : ''
  if (USERNS_PATTERNS.some((pattern) => pattern.test(trial.stderr))) {
    return unavailable('userns-blocked', `bubblewrap cannot create its namespaces${as}: ${text}`, USERNS_HINT)
  }
  return unavailable('failed', `bubblewrap failed to start a sandbox${as}: ${text}`, INSTALL_HINT)
}

interface RunResult {
  exitCode: number | null
  stdout: string
  stderr: string
  error?: NodeJS.ErrnoException
}

function run(command: string, args: string[], identity?: SandboxIdentity): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { timeout: PROBE_TIMEOUT_MS, env: {}, encoding: 'utf8', cwd: '/', ...(identity ?? {}) },
      (error, stdout, stderr) => {
        const errno = error as (NodeJS.ErrnoException & { code?: unknown }) | null
        // execFile reports a non-zero exit as an error whose `code` is the exit status (a number).
        if (errno && typeof errno.code === 'string') resolve({ exitCode: null, stdout, stderr, error: errno })
        else
          resolve({ exitCode: errno ? (typeof errno.code === 'number' ? errno.code : 1) : 0, stdout, stderr })
      },
    )
  })
}

function summary(result: RunResult): string {
  const text = (result.stderr || result.stdout).trim().split('\n').slice(-3).join(' | ')
  return text || (result.error ? result.error.message : `exit code ${result.exitCode}`)
}

function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    if (!dir) continue
    const candidate = join(dir, name)
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {}
  }
  return undefined
}

function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0)
    if (d !== 0) return d
  }
  return 0
}

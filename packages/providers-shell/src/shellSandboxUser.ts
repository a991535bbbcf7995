import { lstatSync } from 'node:fs'
import {
  createSeccompSource,
  DEFAULT_SANDBOX_GID,
  hostRunsAsRoot,
  type PathNeed,
  type SandboxIdentity,
  SandboxUidPool,
  type SeccompFd,
  type SeccompSource,
  unreachablePaths,
} from '@capsule/sandbox'
import type { ResolvedRoot } from './pathGuard.js'
import { configError } from './shellProviderOptions.js'

/**
 * Who sandboxed commands are on the host: the host's own user when it is not root (mapped into the
 * command's user namespace); else one fixed unprivileged identity (`options.sandboxUser`, or the owner
 * of the writable roots, so what commands write stays theirs); else, with no writable root, a uid of
 * its own per command, leased from @capsule/sandbox's block.
 */
export type ShellSandboxUser =
  | { kind: 'host' }
  | { kind: 'fixed'; identity: SandboxIdentity }
  | { kind: 'leased'; pool: SandboxUidPool }

/**
 * Chooses the {@link ShellSandboxUser} for a provider. A root host never runs a sandboxed command as
 * root: a writable root owned by root, or writable roots of different owners, is a configuration error
 * naming the fix (ProviderDefinitionError).
 */
export function chooseShellSandboxUser(
  option: SandboxIdentity | undefined,
  roots: readonly ResolvedRoot[],
): ShellSandboxUser {
  if (!hostRunsAsRoot()) return { kind: 'host' }
  if (option !== undefined) return { kind: 'fixed', identity: option }
  const owners = roots.filter((root) => root.write).map((root) => ({ root, stat: lstatSync(root.path) }))
  if (owners.length === 0) {
    const pool = new SandboxUidPool()
    try {
      pool.lease().release()
    } catch (error) {
      configError(
        `options.sandboxUser: ${(error as Error).message}; or set options.sandboxUser to { uid, gid }`,
      )
    }
    return { kind: 'leased', pool }
  }
  const byRoot = owners.find((owner) => owner.stat.uid === 0)
  if (byRoot) {
    configError(
      `options.roots: ${byRoot.root.path} is writable and owned by root. The host runs as root, so sandboxed ` +
        'commands run as an unprivileged user, by default the owner of the writable roots: chown the root ' +
        '(and what is in it) to the user commands should act as, or set options.sandboxUser to { uid, gid }',
    )
  }
  const [first, ...rest] = owners as [(typeof owners)[number], ...typeof owners]
  const other = rest.find((owner) => owner.stat.uid !== first.stat.uid)
  if (other) {
    configError(
      `options.roots: the writable roots ${first.root.path} (uid ${first.stat.uid}) and ${other.root.path} ` +
        `(uid ${other.stat.uid}) have different owners, and commands run as one user: set options.sandboxUser to { uid, gid }`,
    )
  }
  // Never root's group: a root-group directory gets the sandbox group instead.
  const gid = first.stat.gid === 0 ? DEFAULT_SANDBOX_GID : first.stat.gid
  return { kind: 'fixed', identity: { uid: first.stat.uid, gid } }
}

/** The identity to probe and check paths with: any uid the commands may get. */
export function representativeIdentity(user: ShellSandboxUser): SandboxIdentity | undefined {
  return user.kind === 'fixed' ? user.identity : user.kind === 'leased' ? user.pool.representative : undefined
}

/**
 * Checks that the sandbox user can read every root (write the writable ones) and run every program;
 * throws ProviderDefinitionError naming what it cannot reach and the fix.
 */
export function checkShellSandboxReach(
  user: ShellSandboxUser,
  roots: readonly ResolvedRoot[],
  programs: readonly string[],
): void {
  const identity = representativeIdentity(user)
  if (identity === undefined) return
  const needs: PathNeed[] = [
    ...roots.map((root) => ({
      path: root.path,
      access: root.write ? ('write' as const) : ('read' as const),
    })),
    ...programs.map((program) => ({ path: program, access: 'execute' as const })),
  ]
  const missing = unreachablePaths(identity, needs)
  if (missing.length === 0) return
  const who =
    user.kind === 'leased'
      ? `uids leased from ${user.pool.uids.first} (gid ${identity.gid})`
      : `uid ${identity.uid} (gid ${identity.gid})`
  configError(
    `the host runs as root, so sandboxed commands run as ${who}, which cannot ${missing.map((need) => `${need.access} ${need.path}`).join(', ')}: ` +
      'let that user reach them (chmod o+rX for reading, or chown to it), or set options.sandboxUser to { uid, gid } of a user who can',
  )
}

/** What one sandboxed run spawns with, and what to undo once it is over. */
export interface SandboxedRun {
  /** Merge into the spawn request: the host identity and the seccomp descriptor (stdio 3). */
  spawn: { uid?: number; gid?: number; extraFds: number[] }
  /** Closes the seccomp descriptor and gives a leased uid back. Call once the process tree is gone. */
  done(): void
}

/** Starts the sandboxed runs of one provider: who each command is, and its seccomp descriptor. */
export class ShellSandboxRunner {
  readonly user: ShellSandboxUser
  readonly #program: Buffer
  #source: SeccompSource | undefined

  constructor(user: ShellSandboxUser, program: Buffer) {
    this.user = user
    this.#program = program
  }

  /** Prepares one command: a uid of its own when leased, and a fresh seccomp descriptor. */
  start(): SandboxedRun {
    const lease = this.user.kind === 'leased' ? this.user.pool.lease() : undefined
    const identity = this.user.kind === 'fixed' ? this.user.identity : lease
    let seccomp: SeccompFd
    try {
      // One program file for all runs; reopened cheaply for each (fifty commands may start at once).
      this.#source ??= createSeccompSource(this.#program)
      seccomp = this.#source.open()
    } catch (error) {
      lease?.release()
      throw error
    }
    return {
      spawn: { ...(identity ? { uid: identity.uid, gid: identity.gid } : {}), extraFds: [seccomp.fd] },
      done() {
        seccomp.close()
        lease?.release()
      },
    }
  }

  /** Closes the program file; a later run opens a new one. */
  dispose(): void {
    this.#source?.close()
    this.#source = undefined
  }
}

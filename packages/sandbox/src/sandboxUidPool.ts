// Leases: one empty file per held uid in a root-only directory, named `<uid>-<pid>-<starttime>` after
// its holder. A holder that is gone (no such pid, or the pid was reused: another start time) holds
// nothing, and its file may be deleted by anyone, so a crashed host needs no cleanup. Taking a uid:
// create your own file, then look again; if any other live holder of that uid shows up, yield and try
// the next one. Of two racing takers at least one sees the other, so two never keep the same uid.
import { randomInt } from 'node:crypto'
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync } from 'node:fs'
import { isAbsolute, join } from 'node:path'
import { SandboxError } from './sandboxError.js'

/** The host uid and gid a sandboxed process runs as. */
export interface SandboxIdentity {
  readonly uid: number
  readonly gid: number
}

/** Which host identities sandboxed processes get when the host runs as root. */
export interface SandboxUserOptions {
  /** The uids leased one per sandboxed process (default {@link DEFAULT_SANDBOX_UIDS}). */
  uids?: { first: number; count: number }
  /** The gid every sandboxed process shares (default {@link DEFAULT_SANDBOX_GID}). */
  gid?: number
  /** The root-only directory holding the machine-wide leases (default {@link DEFAULT_SANDBOX_LEASE_DIR}). */
  leaseDir?: string
}

/** One uid held by one sandboxed process until {@link SandboxUidLease.release}. */
export interface SandboxUidLease extends SandboxIdentity {
  /** Gives the uid back. Call once nothing runs as it any more. Idempotent. */
  release(): void
}

/**
 * The default uid block: 65,536 uids from 0x70000000 (1,879,048,192), far above normal users (1000+),
 * subordinate-uid blocks (/etc/subuid, from 100000) and systemd-nspawn's picks (up to 0x6FFF0000).
 */
export const DEFAULT_SANDBOX_UIDS: Readonly<{ first: number; count: number }> = Object.freeze({
  first: 0x70000000,
  count: 65536,
})

/** The default shared gid: the first uid of {@link DEFAULT_SANDBOX_UIDS}, a group no one else has. */
export const DEFAULT_SANDBOX_GID = 0x70000000

/** Where leases live by default: /run is root-only and emptied at boot. */
export const DEFAULT_SANDBOX_LEASE_DIR = '/run/capsule/sandbox-uids'

// Node's spawn takes uid and gid as int32; the kernel would go to 4294967294.
const MAX_ID = 2147483647

/** Whether this process runs as root, i.e. whether sandboxed processes must be given another uid. */
export function hostRunsAsRoot(): boolean {
  return process.geteuid?.() === 0
}

/**
 * Hands out host uids to sandboxed processes, one per process, unique on this machine among live
 * holders (leases in {@link SandboxUserOptions.leaseDir}, shared by every Capsule host on it), all
 * with one gid. Options are checked now (INVALID_OPTIONS); the lease directory and the uid range's
 * mapping are checked at the first lease (SANDBOX_UNAVAILABLE).
 */
export class SandboxUidPool {
  /** The uid block. */
  readonly uids: Readonly<{ first: number; count: number }>
  /** The gid every leased identity has. */
  readonly gid: number
  /** Where the leases are. */
  readonly leaseDir: string
  readonly #held = new Set<number>()
  #ready = false
  #self: string | undefined

  constructor(options: SandboxUserOptions = {}) {
    const uids = options.uids ?? DEFAULT_SANDBOX_UIDS
    const gid = options.gid ?? DEFAULT_SANDBOX_GID
    const fail = (message: string): never => {
      throw new SandboxError('INVALID_OPTIONS', `sandboxUser.${message}`)
    }
    if (!Number.isSafeInteger(uids.first) || uids.first < 1 || uids.first > MAX_ID) {
      fail(`uids.first must be an integer from 1 to ${MAX_ID} (got ${String(uids.first)})`)
    }
    if (!Number.isSafeInteger(uids.count) || uids.count < 1 || uids.first + uids.count - 1 > MAX_ID) {
      fail(
        `uids.count must be an integer ≥ 1 that keeps the block at or below ${MAX_ID} (got ${String(uids.count)})`,
      )
    }
    if (!Number.isSafeInteger(gid) || gid < 1 || gid > MAX_ID) {
      fail(`gid must be an integer from 1 to ${MAX_ID} (got ${String(gid)}; 0 is root's group)`)
    }
    const leaseDir = options.leaseDir ?? DEFAULT_SANDBOX_LEASE_DIR
    if (!isAbsolute(leaseDir)) fail(`leaseDir must be absolute (got ${leaseDir})`)
    this.uids = Object.freeze({ first: uids.first, count: uids.count })
    this.gid = gid
    this.leaseDir = leaseDir
  }

  /**
   * An identity for checks that need no exclusive uid (probing bwrap, testing which paths the
   * sandboxed user can reach): the first uid of the block, which owns no files, like every other.
   */
  get representative(): SandboxIdentity {
    return { uid: this.uids.first, gid: this.gid }
  }

  /**
   * Leases a uid no live process on this machine holds. Throws SANDBOX_UNAVAILABLE when the block is not
   * mapped in this user namespace, the lease directory is unsafe or unusable, or every uid is taken.
   */
  lease(): SandboxUidLease {
    this.#prepare()
    const self = this.#selfTag()
    const { first, count } = this.uids
    // A random starting point: hosts starting together rarely try the same uid.
    const start = randomInt(count)
    let taken = liveHolders(this.leaseDir)
    for (let i = 0; i < count; i++) {
      const uid = first + ((start + i) % count)
      if (this.#held.has(uid) || taken.has(uid)) continue
      const file = join(this.leaseDir, `${uid}-${self}`)
      try {
        closeSync(openSync(file, 'wx', 0o600))
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue
        throw this.#unusable(error)
      }
      taken = liveHolders(this.leaseDir)
      if ((taken.get(uid) ?? []).some((holder) => holder !== self)) {
        removeQuietly(file)
        continue
      }
      this.#held.add(uid)
      let held = true
      return {
        uid,
        gid: this.gid,
        release: () => {
          if (!held) return
          held = false
          removeQuietly(file)
          this.#held.delete(uid)
        },
      }
    }
    throw new SandboxError(
      'SANDBOX_UNAVAILABLE',
      `all ${count} sandbox uids from ${first} are leased by live processes: raise sandboxUser.uids.count`,
      { details: { reason: 'uids-exhausted', first, count } },
    )
  }

  #prepare(): void {
    if (this.#ready) return
    const { first, count } = this.uids
    const unmapped = !isMapped('/proc/self/uid_map', first, count)
      ? { ids: `uids ${first}–${first + count - 1} are`, file: '/proc/self/uid_map' }
      : !isMapped('/proc/self/gid_map', this.gid, 1)
        ? { ids: `gid ${this.gid} is`, file: '/proc/self/gid_map' }
        : undefined
    if (unmapped) {
      // A root host inside a user namespace (rootless containers) can only become the ids it maps.
      throw new SandboxError(
        'SANDBOX_UNAVAILABLE',
        `the sandbox ${unmapped.ids} not mapped in this process's user namespace (${unmapped.file}: ${readOrEmpty(unmapped.file).trim().replace(/\s+/g, ' ')}): choose sandboxUser.uids and sandboxUser.gid inside a mapped range`,
        { details: { reason: 'ids-unmapped', uids: this.uids, gid: this.gid } },
      )
    }
    try {
      mkdirSync(this.leaseDir, { recursive: true, mode: 0o700 })
    } catch (error) {
      throw this.#unusable(error)
    }
    const stat = lstatSync(this.leaseDir)
    const euid = process.geteuid?.() ?? -1
    // Anyone who can write here could delete leases and make two sandboxes share a uid.
    if (!stat.isDirectory() || stat.uid !== euid || (stat.mode & 0o022) !== 0) {
      throw new SandboxError(
        'SANDBOX_UNAVAILABLE',
        `the sandbox uid lease directory ${this.leaseDir} is not a directory only this user can write (owner ${stat.uid}, mode ${(stat.mode & 0o7777).toString(8)}): remove it, or set sandboxUser.leaseDir`,
        { details: { reason: 'lease-dir-unsafe', leaseDir: this.leaseDir } },
      )
    }
    this.#ready = true
  }

  #selfTag(): string {
    this.#self ??= `${process.pid}-${startTime(process.pid) ?? 0}`
    return this.#self
  }

  #unusable(cause: unknown): SandboxError {
    return new SandboxError(
      'SANDBOX_UNAVAILABLE',
      `cannot record sandbox uid leases in ${this.leaseDir}: ${(cause as Error).message}. Set sandboxUser.leaseDir to a directory only root can write`,
      { cause, details: { reason: 'lease-dir-unusable', leaseDir: this.leaseDir } },
    )
  }
}

/** The live holders (`<pid>-<starttime>`) of each leased uid; files of dead holders are removed on the way. */
function liveHolders(dir: string): Map<number, string[]> {
  const holders = new Map<number, string[]>()
  const alive = new Map<string, boolean>()
  for (const name of readdirSync(dir)) {
    const match = /^(\d+)-(\d+)-(\d+)$/.exec(name)
    if (!match) continue
    const [, uid, pid, start] = match as unknown as [string, string, string, string]
    const holder = `${pid}-${start}`
    let live = alive.get(holder)
    if (live === undefined) {
      live = String(startTime(Number(pid))) === start
      alive.set(holder, live)
    }
    if (!live) {
      removeQuietly(join(dir, name))
      continue
    }
    const list = holders.get(Number(uid)) ?? []
    list.push(holder)
    holders.set(Number(uid), list)
  }
  return holders
}

/** A process's start time in clock ticks since boot (field 22 of /proc/PID/stat), or undefined when it is gone. */
function startTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[19])
  } catch {
    return undefined
  }
}

/** Whether ids `first` to `first + count - 1` of this user namespace map to ids outside it. */
function isMapped(file: string, first: number, count: number): boolean {
  const text = readOrEmpty(file)
  // No map file: a kernel without user namespaces, where every id is the kernel's own.
  if (text === '') return true
  return text
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number))
    .some(([inside = Number.NaN, , length = 0]) => first >= inside && first + count <= inside + length)
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

function removeQuietly(file: string): void {
  try {
    unlinkSync(file)
  } catch {}
}

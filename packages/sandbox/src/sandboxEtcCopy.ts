import {
  chmodSync,
  copyFileSync,
  type Dirent,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { dirname, join, posix } from 'node:path'

/** A path under the sandbox's `/etc` that something is mounted on, so it must exist beforehand. */
export interface EtcMountPoint {
  /** Path below `/etc`, relative (`capsule/matplotlib`). */
  path: string
  kind: 'dir' | 'file'
}

/** What {@link prepareEtcCopy} copies and where. */
export interface EtcCopyRequest {
  /** The host's `/etc` (tests pass a directory of their own). */
  sourceRoot: string
  /** Names under `sourceRoot` to copy when present: files, directories (whole) or symlinks. */
  entries: readonly string[]
  /** Files written as given, by name; they win over a host entry of the same name. */
  generated: Readonly<Record<string, string>>
  mountPoints: readonly EtcMountPoint[]
  /** Directory the copy is made in (`mkdtemp`). */
  parent: string
}

/** A copy and what it was made from: {@link etcCopyIsCurrent} says whether it still stands for both. */
export interface EtcCopy {
  dir: string
  /** lstat of every host path the copy depends on, taken when it was made. */
  readonly source: readonly Stamp[]
  /** lstat of every path in the copy whose change a stamp can see, taken when it was made. */
  readonly copy: readonly Stamp[]
}

// What an lstat says about a path, or that it was missing. A directory's mtime moves when an entry is
// added, removed or renamed in it, so symlinks (replaced, never edited) need no stamp of their own.
type Stamp = readonly [path: string, fingerprint: string]

// Deep enough for any distribution's /etc/fonts; a host tree deeper than this is not copied further.
const MAX_DEPTH = 8

/**
 * Copies the host `/etc` entries a sandbox shows, plus the generated files and empty mount points,
 * into a fresh `mkdtemp` directory (mode 0755, nothing group- or world-writable), so that a sandbox
 * binds its whole `/etc` with one mount: each bind costs bubblewrap a mount and a scan of the mount
 * table, and one per entry was a third of its start-up. Symlinks are recreated as they are (a
 * top-level one that leads outside `/usr` is copied as what it points at), other kinds are skipped.
 */
export function prepareEtcCopy(request: EtcCopyRequest): EtcCopy {
  const dir = mkdtempSync(join(request.parent, 'capsule-etc-'))
  try {
    const source: Stamp[] = []
    for (const name of request.entries) {
      if (Object.hasOwn(request.generated, name)) continue
      copyTopLevel(join(request.sourceRoot, name), name, dir, source)
    }
    for (const [name, text] of Object.entries(request.generated)) {
      writeFileSync(join(dir, name), text, { mode: 0o644 })
      chmodSync(join(dir, name), 0o644)
    }
    for (const point of request.mountPoints) makeMountPoint(dir, point)
    chmodSync(dir, 0o755)
    return { dir, source, copy: stampTree(dir) }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
}

/** Whether nothing the copy was made from changed, and nothing in the copy did (a tmp cleaner). */
export function etcCopyIsCurrent(copy: EtcCopy): boolean {
  // The copy's root is among its stamps: one that still matches is the directory this process made
  // 0755, so its mode and owner need no check of their own.
  return [...copy.source, ...copy.copy].every(([path, fingerprint]) => stamp(path) === fingerprint)
}

function copyTopLevel(from: string, name: string, dir: string, source: Stamp[]): void {
  const to = join(dir, name)
  source.push([from, stamp(from)])
  const stat = lstatSync(from, { throwIfNoEntry: false })
  if (!stat) return
  if (stat.isSymbolicLink()) {
    const target = readlinkSync(from)
    // Read where it will be read: at /etc/<name> inside the sandbox, where /usr is the host's.
    if (posix.resolve('/etc', dirname(name), target).startsWith('/usr/')) {
      symlinkSync(target, to)
      return
    }
    let real: string
    try {
      real = realpathSync(from)
    } catch {
      return
    }
    source.push([real, stamp(real)])
    copyEntry(real, statSync(real), to, source, 0)
    return
  }
  copyEntry(from, stat, to, source, 0)
}

function copyEntry(
  from: string,
  stat: { isFile(): boolean; isDirectory(): boolean; mode: number },
  to: string,
  source: Stamp[],
  depth: number,
): void {
  if (stat.isFile()) {
    copyFileSync(from, to)
    chmodSync(to, safeMode(stat.mode))
    return
  }
  if (!stat.isDirectory() || depth > MAX_DEPTH) return
  mkdirSync(to)
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const path = join(from, entry.name)
    const target = join(to, entry.name)
    if (entry.isSymbolicLink()) symlinkSync(readlinkSync(path), target)
    else if (entry.isFile() || entry.isDirectory()) {
      source.push([path, stamp(path)])
      copyEntry(path, lstatSync(path), target, source, depth + 1)
    }
  }
  chmodSync(to, safeMode(stat.mode) | 0o500)
}

// Read and execute bits as the host has them (a 0600 file stays unreadable to the sandbox uid); no
// write for group or others, no setuid, setgid or sticky bit.
function safeMode(mode: number): number {
  return mode & 0o755
}

function makeMountPoint(dir: string, point: EtcMountPoint): void {
  const path = join(dir, point.path)
  if (lstatSync(path, { throwIfNoEntry: false })) return
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 })
  if (point.kind === 'dir') mkdirSync(path, { mode: 0o755 })
  else writeFileSync(path, '', { mode: 0o644 })
}

function stampTree(dir: string): Stamp[] {
  const stamps: Stamp[] = [[dir, stamp(dir)]]
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true }) as Dirent[]) {
      const path = join(at, entry.name)
      if (entry.isSymbolicLink()) continue
      stamps.push([path, stamp(path)])
      if (entry.isDirectory()) walk(path)
    }
  }
  walk(dir)
  return stamps
}

function stamp(path: string): string {
  // Number stats, not bigint: half the cost, and ino, size and both times together still see any change.
  const stat = lstatSync(path, { throwIfNoEntry: false })
  if (!stat) return 'missing'
  return `${stat.ino}:${stat.mode}:${stat.uid}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`
}

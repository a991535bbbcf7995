// Opening files without following a path twice. Node has no openat(2), so every step opens
// `/proc/self/fd/<parent fd>/<name>`: the kernel resolves the magic link to the directory the parent
// descriptor already holds and then looks up one name in it, with O_NOFOLLOW refusing a symlink there.
// Each descriptor's real path (readlink of its /proc entry) must equal the path the rules were checked
// against, so a directory moved or swapped mid-walk is caught instead of followed.
import { constants, type Stats } from 'node:fs'
import fsp, { type FileHandle } from 'node:fs/promises'
import path from 'node:path'
import { CapabilityError } from '@capsule/provider-sdk'
import { denied, errnoCode, quote, throwIfAborted, toCapabilityError } from './fsErrors.js'
import type { ResolvedRoot } from './fsProviderOptions.js'

const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW
// O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused after fstat anyway).
// O_NOCTTY: a terminal device must never become the host's controlling terminal.
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY

/**
 * Test seams called between checking a path and using it, so tests can swap files at exactly the moment
 * an attacker would. Production code passes none.
 */
export interface FsRaceHooks {
  /** Just before a path component (root-relative) is opened. */
  beforeOpen?(relPath: string): void | Promise<void>
  /** Just after a component was opened, before its descriptor is verified. */
  afterOpen?(relPath: string): void | Promise<void>
  /** After a temp file was written and synced, just before it is renamed over `relPath`. */
  beforeRename?(relPath: string): void | Promise<void>
}

/** What a walk needs besides the path: the call's signal, the name to show in errors, the test seams. */
export interface WalkContext {
  readonly signal: AbortSignal
  readonly display: string
  readonly hooks?: FsRaceHooks | undefined
}

/** The `/proc` path naming descriptor `fd`, or the entry `name` inside the directory `fd` holds. */
export function fdPath(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`
}

/** Joins a root-relative directory path and an entry name. */
export function joinRel(dirRelPath: string, name: string): string {
  return dirRelPath === '' ? name : `${dirRelPath}/${name}`
}

/**
 * Checks that `handle` is open on exactly `root/relPath`: the descriptor's real path is read back from
 * /proc, so what was actually opened is checked, not what the path said. Throws DENIED otherwise.
 */
export async function verifyDescriptor(
  handle: FileHandle,
  root: ResolvedRoot,
  relPath: string,
  display: string,
): Promise<void> {
  const expected = relPath === '' ? root.realPath : path.posix.join(root.realPath, relPath)
  let actual: string
  try {
    actual = await fsp.readlink(fdPath(handle.fd))
  } catch (error) {
    throw denied(`${quote(display)}: the opened file could not be verified`, error)
  }
  if (actual !== expected) {
    throw denied(`${quote(display)} leads outside its root or was moved while it was being opened`)
  }
}

/**
 * Opens the directory `root/components…` one component at a time, each relative to the verified
 * descriptor of its parent, refusing symlinks. With `create`, missing directories are made (like
 * `mkdir -p`); `created` says whether the last one was. The caller closes the returned handle.
 */
export async function openDirectory(
  root: ResolvedRoot,
  components: readonly string[],
  walk: WalkContext & { create?: boolean },
): Promise<{ handle: FileHandle; created: boolean }> {
  throwIfAborted(walk.signal)
  let current: FileHandle
  try {
    current = await fsp.open(root.realPath, DIRECTORY_FLAGS)
  } catch (error) {
    throw toCapabilityError(error, walk.display)
  }
  let created = false
  let relPath = ''
  try {
    await verifyDescriptor(current, root, '', walk.display)
    for (const [index, component] of components.entries()) {
      throwIfAborted(walk.signal)
      const childRel = joinRel(relPath, component)
      await walk.hooks?.beforeOpen?.(childRel)
      let child: FileHandle
      try {
        child = await fsp.open(fdPath(current.fd, component), DIRECTORY_FLAGS)
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT' || walk.create !== true) {
          throw await explainOpenError(error, current, component, walk.display)
        }
        // mkdir never follows a symlink in the last component; the open below re-checks what is there.
        try {
          await fsp.mkdir(fdPath(current.fd, component), 0o777)
          created = index === components.length - 1
        } catch (mkdirError) {
          if (errnoCode(mkdirError) !== 'EEXIST') throw mkdirError
        }
        try {
          child = await fsp.open(fdPath(current.fd, component), DIRECTORY_FLAGS)
        } catch (reopenError) {
          throw await explainOpenError(reopenError, current, component, walk.display)
        }
      }
      try {
        await walk.hooks?.afterOpen?.(childRel)
        await verifyDescriptor(child, root, childRel, walk.display)
      } catch (error) {
        await child.close()
        throw error
      }
      await current.close()
      current = child
      relPath = childRel
    }
    return { handle: current, created }
  } catch (error) {
    await current.close().catch(() => undefined)
    throw toCapabilityError(error, walk.display)
  }
}

/**
 * Opens the regular file `name` inside the verified directory `dir` for reading. Refuses symlinks,
 * directories, FIFOs, devices and sockets (checked before opening, so a device is never opened, and
 * again on the descriptor), and files with more than one hard link (another link may lie outside every
 * root). The caller closes the returned handle.
 */
export async function openRegularFile(
  dir: FileHandle,
  root: ResolvedRoot,
  dirRelPath: string,
  name: string,
  walk: WalkContext,
): Promise<{ handle: FileHandle; stats: Stats }> {
  const relPath = joinRel(dirRelPath, name)
  throwIfAborted(walk.signal)
  let handle: FileHandle
  try {
    assertRegularFile(await fsp.lstat(fdPath(dir.fd, name)), walk.display)
    await walk.hooks?.beforeOpen?.(relPath)
    handle = await fsp.open(fdPath(dir.fd, name), READ_FLAGS)
  } catch (error) {
    throw toCapabilityError(error, walk.display)
  }
  try {
    await walk.hooks?.afterOpen?.(relPath)
    const stats = await handle.stat()
    assertRegularFile(stats, walk.display)
    if (stats.nlink > 1) {
      throw denied(`${quote(walk.display)} has more than one hard link; such files are refused`)
    }
    await verifyDescriptor(handle, root, relPath, walk.display)
    return { handle, stats }
  } catch (error) {
    await handle.close().catch(() => undefined)
    throw toCapabilityError(error, walk.display)
  }
}

/** The type of a directory entry as the capabilities report it; symlinks are never followed. */
export type EntryType = 'file' | 'dir' | 'symlink' | 'other'

/** Classifies `stats` (from lstat or fstat). */
export function entryType(stats: Stats): EntryType {
  if (stats.isFile()) return 'file'
  if (stats.isDirectory()) return 'dir'
  if (stats.isSymbolicLink()) return 'symlink'
  return 'other'
}

/** lstat of the entry `name` inside the verified directory `dir` (never follows a symlink there). */
export function lstatIn(dir: FileHandle, name: string): Promise<Stats> {
  return fsp.lstat(fdPath(dir.fd, name))
}

/** Throws unless `stats` describes a regular file: DENIED for symlinks and special files. */
export function assertRegularFile(stats: Stats, display: string): void {
  switch (entryType(stats)) {
    case 'file':
      return
    case 'dir':
      throw new CapabilityError('INVALID_ARGUMENT', `${quote(display)} is a directory`)
    case 'symlink':
      throw denied(`${quote(display)}: symbolic links are not followed`)
    case 'other':
      throw denied(`${quote(display)} is not a regular file (FIFO, device or socket)`)
  }
}

async function explainOpenError(
  error: unknown,
  parent: FileHandle,
  name: string,
  display: string,
): Promise<unknown> {
  const code = errnoCode(error)
  // O_DIRECTORY|O_NOFOLLOW on a symlink fails with ENOTDIR, like a plain file; lstat tells them apart.
  if (code === 'ENOTDIR' || code === 'ELOOP') {
    const stats = await fsp.lstat(fdPath(parent.fd, name)).catch(() => undefined)
    if (stats?.isSymbolicLink() === true || code === 'ELOOP') {
      return denied(`${quote(display)}: symbolic links are not followed`, error)
    }
    return new CapabilityError('INVALID_ARGUMENT', `${quote(display)}: ${quote(name)} is not a directory`, {
      cause: error,
    })
  }
  return toCapabilityError(error, display)
}

import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import fsp, { type FileHandle } from 'node:fs/promises'
import { errnoCode, quote, throwIfAborted, toCapabilityError } from './fsErrors.js'
import type { ResolvedRoot } from './fsProviderOptions.js'
import { fdPath, joinRel, verifyDescriptor, type WalkContext } from './secureOpen.js'
import { maxPathBytesUnder, PATH_MAX_BYTES, pathTooLong } from './userPath.js'

// O_EXCL|O_NOFOLLOW: the temp file is always new, never an existing file or a planted symlink.
const TEMP_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_NOCTTY
const TEMP_NAME_ATTEMPTS = 5
// Code points of the target name kept in the temp name: short enough to stay under NAME_MAX (255 bytes).
const TEMP_NAME_PREFIX_CODE_POINTS = 48
const TEMP_NAME_SUFFIX = '.capsule-tmp'
// `.` + stem + `.` + 12 hex digits + suffix: the bytes of a temp name beyond its stem.
const TEMP_NAME_FIXED_BYTES = 1 + 1 + 12 + TEMP_NAME_SUFFIX.length

/** A write of `name` inside an already verified directory. */
export interface AtomicWriteRequest extends WalkContext {
  readonly dir: FileHandle
  readonly root: ResolvedRoot
  readonly dirRelPath: string
  readonly name: string
  /** Permission bits for the new file (those of the file it replaces); default 0o666 less the umask. */
  readonly mode?: number | undefined
  /** Writes the whole new content into the temp file. */
  fill(temp: FileHandle): Promise<void>
}

/**
 * Replaces `dir/name` atomically: the content goes into a new hidden temp file in the same directory
 * (created with O_CREAT|O_EXCL|O_NOFOLLOW and verified through its descriptor), is fsynced, and the temp
 * file is renamed over the target. Readers see the old file or the new one, never a part; on any failure
 * (a cap, a cancel, a crash before the rename) the target is untouched and the temp file is removed.
 */
export async function atomicWrite(request: AtomicWriteRequest): Promise<void> {
  const { dir, root, dirRelPath, name, display, signal } = request
  throwIfAborted(signal)
  const stem = tempNameStem(root, dirRelPath, name, display)
  const { temp, tempName } = await createTempFile(dir, stem, display)
  let renamed = false
  try {
    await verifyDescriptor(temp, root, joinRel(dirRelPath, tempName), display)
    await request.fill(temp)
    if (request.mode !== undefined) await temp.chmod(request.mode)
    await temp.sync()
    await request.hooks?.beforeRename?.(joinRel(dirRelPath, name))
    // The last moment a cancel can still leave the old file in place.
    throwIfAborted(signal)
    // rename(2) replaces the last component itself: a symlink planted at the target is replaced, not followed.
    await fsp.rename(fdPath(dir.fd, tempName), fdPath(dir.fd, name))
    renamed = true
    // Make the rename itself durable; some file systems refuse fsync on a directory, which is harmless.
    await dir.sync().catch(() => undefined)
  } catch (error) {
    if (!renamed) await fsp.unlink(fdPath(dir.fd, tempName)).catch(() => undefined)
    throw toCapabilityError(error, display)
  } finally {
    await temp.close().catch(() => undefined)
  }
}

// The start of `name` that fits in the temp name: the temp file's host path must stay under PATH_MAX too,
// or its descriptor could not be verified. A target with too little room left is refused before anything
// is created.
function tempNameStem(root: ResolvedRoot, dirRelPath: string, name: string, display: string): string {
  const needed = Buffer.byteLength(joinRel(dirRelPath, ''), 'utf8') + TEMP_NAME_FIXED_BYTES
  const maxBytes = maxPathBytesUnder(root)
  const room = maxBytes - needed
  if (room < 0) {
    throw pathTooLong(
      `${quote(display)} is too close to PATH_MAX (${PATH_MAX_BYTES} bytes for the whole host path): an atomic write needs room for a ${TEMP_NAME_FIXED_BYTES}-byte temporary name beside it`,
      { limit: 'PATH_MAX', maxBytes, bytes: needed },
    )
  }
  let stem = ''
  let bytes = 0
  for (const char of Array.from(name).slice(0, TEMP_NAME_PREFIX_CODE_POINTS)) {
    bytes += Buffer.byteLength(char, 'utf8')
    if (bytes > room) break
    stem += char
  }
  return stem
}

async function createTempFile(
  dir: FileHandle,
  stem: string,
  display: string,
): Promise<{ temp: FileHandle; tempName: string }> {
  for (let attempt = 1; ; attempt++) {
    // A dot name: hidden by default, so listings and reads never see a half-written file.
    const tempName = `.${stem}.${randomBytes(6).toString('hex')}${TEMP_NAME_SUFFIX}`
    try {
      return { temp: await fsp.open(fdPath(dir.fd, tempName), TEMP_FLAGS, 0o666), tempName }
    } catch (error) {
      if (errnoCode(error) === 'EEXIST' && attempt < TEMP_NAME_ATTEMPTS) continue
      throw toCapabilityError(error, display)
    }
  }
}

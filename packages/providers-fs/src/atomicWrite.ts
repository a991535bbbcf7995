import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import fsp, { type FileHandle } from 'node:fs/promises'
import { errnoCode, throwIfAborted, toCapabilityError } from './fsErrors.js'
import type { ResolvedRoot } from './fsProviderOptions.js'
import { fdPath, joinRel, verifyDescriptor, type WalkContext } from './secureOpen.js'

// O_EXCL|O_NOFOLLOW: the temp file is always new, never an existing file or a planted symlink.
const TEMP_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW | constants.O_NOCTTY
const TEMP_NAME_ATTEMPTS = 5
// Code points of the target name kept in the temp name: short enough to stay under NAME_MAX (255 bytes).
const TEMP_NAME_PREFIX_CODE_POINTS = 48

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
  const { temp, tempName } = await createTempFile(dir, name, display)
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

async function createTempFile(
  dir: FileHandle,
  name: string,
  display: string,
): Promise<{ temp: FileHandle; tempName: string }> {
  const stem = Array.from(name).slice(0, TEMP_NAME_PREFIX_CODE_POINTS).join('')
  for (let attempt = 1; ; attempt++) {
    // A dot name: hidden by default, so listings and reads never see a half-written file.
    const tempName = `.${stem}.${randomBytes(6).toString('hex')}.capsule-tmp`
    try {
      return { temp: await fsp.open(fdPath(dir.fd, tempName), TEMP_FLAGS, 0o666), tempName }
    } catch (error) {
      if (errnoCode(error) === 'EEXIST' && attempt < TEMP_NAME_ATTEMPTS) continue
      throw toCapabilityError(error, display)
    }
  }
}

import fsp from 'node:fs/promises'
import { CapabilityError, defineCapability } from '@capsule/provider-sdk'
import { z } from 'zod'
import { denied, errnoCode, quote, throwIfAborted, toCapabilityError } from '../fsErrors.js'
import type { FsRuntime } from '../fsRuntime.js'
import { entryType, fdPath, lstatIn, openDirectory } from '../secureOpen.js'
import { assertPathAllowed, assertWritableRoot, parseUserPath, splitParent } from '../userPath.js'
import { entryTypeSchema } from './entryType.js'
import { PATH_DESCRIPTION } from './pathDescription.js'

/**
 * `fs.delete_path(path)`: deletes a file, a symlink (the link, never its target) or an empty directory.
 * A non-empty directory is refused with CONFLICT: there is no recursive delete, so one call never removes
 * more than one entry.
 */
export function deletePathCapability(runtime: FsRuntime) {
  const { options, hooks } = runtime
  return defineCapability({
    name: 'delete_path',
    level: 'standard',
    description:
      'Delete a file or an empty directory under a writable root (a symlink is removed itself, never its target). Non-empty directories are refused.',
    input: z.object({ path: z.string().describe(PATH_DESCRIPTION) }),
    output: z.object({ path: z.string(), type: entryTypeSchema }),
    annotations: { readOnly: false, destructive: true, idempotent: true, openWorld: false },
    secretArgs: [],
    async handler(args, ctx) {
      const target = parseUserPath(args.path, options)
      assertWritableRoot(target)
      if (target.components.length === 0) throw denied('a root cannot be deleted')
      assertPathAllowed(target, 'any')
      const { parentComponents, name } = splitParent(target)
      const { handle: dir } = await openDirectory(target.root, parentComponents, {
        signal: ctx.signal,
        display: target.display,
        hooks,
      })
      try {
        const type = entryType(await lstatIn(dir, name))
        assertPathAllowed(target, type === 'dir' ? 'dir' : 'file')
        throwIfAborted(ctx.signal)
        // Neither rmdir nor unlink follows a symlink in the last component.
        if (type === 'dir') await fsp.rmdir(fdPath(dir.fd, name))
        else await fsp.unlink(fdPath(dir.fd, name))
        await dir.sync().catch(() => undefined)
        return { path: target.display, type }
      } catch (error) {
        const code = errnoCode(error)
        if (code === 'ENOTEMPTY' || code === 'EEXIST') {
          throw new CapabilityError(
            'CONFLICT',
            `${quote(target.display)} is a directory that is not empty; delete its contents first`,
            { cause: error },
          )
        }
        throw toCapabilityError(error, target.display)
      } finally {
        await dir.close()
      }
    },
  })
}

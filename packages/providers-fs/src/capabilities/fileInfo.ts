import type { Stats } from 'node:fs'
import { defineCapability } from '@capsule/provider-sdk'
import { z } from 'zod'
import { toCapabilityError } from '../fsErrors.js'
import type { FsRuntime } from '../fsRuntime.js'
import { entryType, lstatIn, openDirectory } from '../secureOpen.js'
import { assertPathAllowed, parseUserPath, splitParent } from '../userPath.js'
import { entryTypeSchema } from './entryType.js'
import { PATH_DESCRIPTION } from './pathDescription.js'

/** `fs.file_info(path)`: type, size and ISO mtime of one entry; a symlink is described, not followed. */
export function fileInfoCapability(runtime: FsRuntime) {
  const { options, hooks } = runtime
  return defineCapability({
    name: 'file_info',
    level: 'restricted',
    description:
      'Describe a file or directory under a workspace root: type (file, dir, symlink, other), size in bytes and modification time.',
    input: z.object({ path: z.string().describe(PATH_DESCRIPTION) }),
    output: z.object({
      path: z.string(),
      type: entryTypeSchema,
      size: z.number().int().nonnegative(),
      mtime: z.string(),
    }),
    annotations: { readOnly: true, destructive: false, idempotent: true, openWorld: false },
    secretArgs: [],
    async handler(args, ctx) {
      const target = parseUserPath(args.path, options)
      assertPathAllowed(target, 'any')
      const walk = { signal: ctx.signal, display: target.display, hooks }
      let stats: Stats
      if (target.components.length === 0) {
        const { handle } = await openDirectory(target.root, [], walk)
        try {
          stats = await handle.stat()
        } finally {
          await handle.close()
        }
      } else {
        const { parentComponents, name } = splitParent(target)
        const { handle: dir } = await openDirectory(target.root, parentComponents, walk)
        try {
          stats = await lstatIn(dir, name)
        } catch (error) {
          throw toCapabilityError(error, target.display)
        } finally {
          await dir.close()
        }
      }
      const type = entryType(stats)
      assertPathAllowed(target, type === 'dir' ? 'dir' : 'file')
      return { path: target.display, type, size: stats.size, mtime: stats.mtime.toISOString() }
    },
  })
}

import fsp from 'node:fs/promises'
import { defineCapability } from '@capsule/provider-sdk'
import { z } from 'zod'
import { errnoCode, throwIfAborted, toCapabilityError } from '../fsErrors.js'
import type { FsRuntime } from '../fsRuntime.js'
import { entryType, fdPath, joinRel, lstatIn, openDirectory } from '../secureOpen.js'
import { assertPathAllowed, parseUserPath } from '../userPath.js'
import { entryTypeSchema } from './entryType.js'
import { PATH_DESCRIPTION } from './pathDescription.js'

const entrySchema = z.object({
  name: z.string(),
  type: entryTypeSchema,
  size: z.number().int().nonnegative(),
  mtime: z.string(),
})

/**
 * `fs.list_dir(path='.')`: a directory's entries (name, type, size, ISO mtime), sorted by name, without
 * the ones the rules hide or refuse; at most `maxListEntries`, with `truncated` set when there were more.
 */
export function listDirCapability(runtime: FsRuntime) {
  const { options, hooks } = runtime
  return defineCapability({
    name: 'list_dir',
    level: 'restricted',
    description:
      'List a directory under a workspace root: entries with name, type (file, dir, symlink, other), size and mtime. Capped; truncated says whether entries were left out.',
    input: z.object({ path: z.string().default('.').describe(PATH_DESCRIPTION) }),
    output: z.object({ entries: z.array(entrySchema), truncated: z.boolean() }),
    annotations: { readOnly: true, destructive: false, idempotent: true, openWorld: false },
    secretArgs: [],
    async handler(args, ctx) {
      const target = parseUserPath(args.path, options)
      assertPathAllowed(target, 'dir')
      const { handle: dir } = await openDirectory(target.root, target.components, {
        signal: ctx.signal,
        display: target.display,
        hooks,
      })
      const entries: z.input<typeof entrySchema>[] = []
      let truncated = false
      try {
        // Opening the /proc entry of the verified descriptor lists exactly the directory that was checked.
        for await (const dirent of await fsp.opendir(fdPath(dir.fd), { bufferSize: 128 })) {
          throwIfAborted(ctx.signal)
          let stats: Awaited<ReturnType<typeof lstatIn>>
          try {
            stats = await lstatIn(dir, dirent.name)
          } catch (error) {
            // Removed between readdir and lstat: it is simply not there any more.
            if (errnoCode(error) === 'ENOENT') continue
            throw error
          }
          const type = entryType(stats)
          const kind = type === 'dir' ? 'dir' : 'file'
          if (target.root.policy.check(joinRel(target.relPath, dirent.name), kind) !== undefined) continue
          if (entries.length === options.maxListEntries) {
            truncated = true
            break
          }
          entries.push({ name: dirent.name, type, size: stats.size, mtime: stats.mtime.toISOString() })
        }
      } catch (error) {
        throw toCapabilityError(error, target.display)
      } finally {
        await dir.close()
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      return { entries, truncated }
    },
  })
}

import type { Stats } from 'node:fs'
import type { FileHandle } from 'node:fs/promises'
import { binary, CapabilityError, defineCapability } from '@capsule/provider-sdk'
import { z } from 'zod'
import { atomicWrite } from '../atomicWrite.js'
import { copyCapped, limitExceeded, writeAll } from '../cappedIo.js'
import { errnoCode, quote, toCapabilityError } from '../fsErrors.js'
import type { FsRuntime } from '../fsRuntime.js'
import { assertRegularFile, lstatIn, openDirectory, openRegularFile } from '../secureOpen.js'
import { assertPathAllowed, assertWritableRoot, parseUserPath, splitParent } from '../userPath.js'
import { PATH_DESCRIPTION } from './pathDescription.js'

/**
 * `fs.write_file(path, data, append=False)`: writes text (as UTF-8) or bytes atomically, replacing the
 * file or appending to it. The parent directory must exist.
 */
export function writeFileCapability(runtime: FsRuntime) {
  const { options, hooks } = runtime
  return defineCapability({
    name: 'write_file',
    level: 'standard',
    description:
      'Write text (UTF-8) or bytes to a file under a writable root, atomically; append=True adds to the end. Returns the path and the number of bytes written.',
    input: z.object({
      path: z.string().describe(PATH_DESCRIPTION),
      data: z.union([z.string(), binary()]).describe('The content: str (written as UTF-8) or bytes.'),
      append: z.boolean().default(false).describe('Add to the end of the file instead of replacing it.'),
    }),
    output: z.object({ path: z.string(), bytes: z.number().int().nonnegative() }),
    annotations: { readOnly: false, destructive: true, idempotent: false, openWorld: false },
    secretArgs: [],
    async handler(args, ctx) {
      const target = parseUserPath(args.path, options)
      assertWritableRoot(target)
      assertPathAllowed(target, 'file')
      if (target.components.length === 0) {
        throw new CapabilityError('INVALID_ARGUMENT', `${quote(target.display)} is a directory`)
      }
      const data = typeof args.data === 'string' ? Buffer.from(args.data, 'utf8') : args.data
      const cap = options.maxWriteBytes
      const tooLarge = () => limitExceeded(target.display, cap, 'write')
      if (data.byteLength > cap) throw tooLarge()
      const { parentComponents, parentRelPath, name } = splitParent(target)
      const walk = { signal: ctx.signal, display: target.display, hooks }
      const { handle: dir } = await openDirectory(target.root, parentComponents, walk)
      let source: FileHandle | undefined
      try {
        const existing = await lstatOrUndefined(dir, name, target.display)
        // A symlink at the target would be replaced, not followed, but refusing it keeps one rule for all calls.
        if (existing !== undefined) assertRegularFile(existing, target.display)
        if (args.append && existing !== undefined) {
          const opened = await openRegularFile(dir, target.root, parentRelPath, name, walk)
          source = opened.handle
          if (opened.stats.size + data.byteLength > cap) throw tooLarge()
        }
        const appendFrom = source
        await atomicWrite({
          ...walk,
          dir,
          root: target.root,
          dirRelPath: parentRelPath,
          name,
          // Keep the permissions of the file being replaced (never set-id bits).
          mode: existing === undefined ? undefined : existing.mode & 0o777,
          async fill(temp) {
            if (appendFrom !== undefined)
              await copyCapped(appendFrom, temp, cap - data.byteLength, ctx.signal, tooLarge)
            await writeAll(temp, data, ctx.signal)
          },
        })
      } finally {
        await source?.close()
        await dir.close()
      }
      return { path: target.display, bytes: data.byteLength }
    },
  })
}

async function lstatOrUndefined(dir: FileHandle, name: string, display: string): Promise<Stats | undefined> {
  try {
    return await lstatIn(dir, name)
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined
    throw toCapabilityError(error, display)
  }
}

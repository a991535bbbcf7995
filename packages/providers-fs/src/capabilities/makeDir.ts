import { defineCapability } from '@capsule/provider-sdk'
import { z } from 'zod'
import type { FsRuntime } from '../fsRuntime.js'
import { openDirectory } from '../secureOpen.js'
import { assertPathAllowed, assertWritableRoot, parseUserPath } from '../userPath.js'
import { PATH_DESCRIPTION } from './pathDescription.js'

/** `fs.make_dir(path)`: creates a directory and any missing parents; an existing directory is fine. */
export function makeDirCapability(runtime: FsRuntime) {
  const { options, hooks } = runtime
  return defineCapability({
    name: 'make_dir',
    level: 'standard',
    description:
      'Create a directory, and any missing parents, under a writable root. created is False when it already existed.',
    input: z.object({ path: z.string().describe(PATH_DESCRIPTION) }),
    output: z.object({ path: z.string(), created: z.boolean() }),
    annotations: { readOnly: false, destructive: false, idempotent: true, openWorld: false },
    secretArgs: [],
    async handler(args, ctx) {
      const target = parseUserPath(args.path, options)
      assertWritableRoot(target)
      assertPathAllowed(target, 'dir')
      const { handle, created } = await openDirectory(target.root, target.components, {
        signal: ctx.signal,
        display: target.display,
        hooks,
        create: true,
      })
      await handle.close()
      return { path: target.display, created }
    },
  })
}

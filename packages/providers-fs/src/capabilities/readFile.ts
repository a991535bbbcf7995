import { binary, CapabilityError, defineCapability } from '@capsule/provider-sdk'
import { z } from 'zod'
import { limitExceeded, readCapped } from '../cappedIo.js'
import { quote } from '../fsErrors.js'
import type { FsRuntime } from '../fsRuntime.js'
import { openDirectory, openRegularFile } from '../secureOpen.js'
import { decoderFor } from '../textCodec.js'
import { assertPathAllowed, parseUserPath, splitParent } from '../userPath.js'
import { PATH_DESCRIPTION } from './pathDescription.js'

/** `fs.read_file(path, encoding='utf-8')`: a regular file's content as text, or as bytes when encoding is None. */
export function readFileCapability(runtime: FsRuntime) {
  const { options, hooks } = runtime
  return defineCapability({
    name: 'read_file',
    level: 'restricted',
    description:
      'Read a file under a workspace root and return its text (or bytes when encoding is None). Size-capped; symlinks, special files and hidden files are refused.',
    input: z.object({
      path: z.string().describe(PATH_DESCRIPTION),
      encoding: z
        .string()
        .nullable()
        .default('utf-8')
        .describe('Text encoding: utf-8, ascii, latin-1 or utf-16-le; None returns bytes.'),
    }),
    output: z.union([z.string(), binary()]),
    annotations: { readOnly: true, destructive: false, idempotent: true, openWorld: false },
    secretArgs: [],
    async handler(args, ctx) {
      const target = parseUserPath(args.path, options)
      const decode = args.encoding === null ? undefined : decoderFor(args.encoding)
      assertPathAllowed(target, 'file')
      if (target.components.length === 0) {
        throw new CapabilityError('INVALID_ARGUMENT', `${quote(target.display)} is a directory`)
      }
      const { parentComponents, parentRelPath, name } = splitParent(target)
      const walk = { signal: ctx.signal, display: target.display, hooks }
      const { handle: dir } = await openDirectory(target.root, parentComponents, walk)
      let bytes: Buffer
      try {
        const { handle, stats } = await openRegularFile(dir, target.root, parentRelPath, name, walk)
        try {
          if (stats.size > options.maxReadBytes)
            throw limitExceeded(target.display, options.maxReadBytes, 'read')
          bytes = await readCapped(handle, options.maxReadBytes, ctx.signal, target.display)
        } finally {
          await handle.close()
        }
      } finally {
        await dir.close()
      }
      if (decode === undefined) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
      try {
        return decode(bytes)
      } catch (error) {
        throw new CapabilityError(
          'INVALID_ARGUMENT',
          `${quote(target.display)} is not valid ${args.encoding}; pass encoding=None to read bytes`,
          { cause: error },
        )
      }
    },
  })
}

import { existsSync, realpathSync, statSync } from 'node:fs'
import path from 'node:path'
import { ProviderDefinitionError, parseProviderOptions } from '@capsule/provider-sdk'
import { z } from 'zod'
import { errnoCode } from './fsErrors.js'
import { PathPolicy } from './pathPolicy.js'

/** Default cap on the bytes one `read_file` returns: 10 MiB. */
export const DEFAULT_MAX_READ_BYTES = 10 * 1024 * 1024
/** Default cap on the size of a file after one `write_file` (including appended content): 10 MiB. */
export const DEFAULT_MAX_WRITE_BYTES = 10 * 1024 * 1024
/** Default cap on the entries one `list_dir` returns. */
export const DEFAULT_MAX_LIST_ENTRIES = 1000

/** What a root name looks like: it is used as a path prefix (`name:relative/path`). */
const ROOT_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_-]*$/

/** One directory the provider exposes. */
export interface FsRootOptions {
  /** The directory, absolute or relative to the current directory. It must exist when the provider is built. */
  path: string
  /** Whether writes (write_file, delete_path, make_dir) are allowed under this root. Default false. */
  write?: boolean
  /**
   * The root's name, used as a path prefix: `name:relative/path`. Optional for the first root (the default
   * root, reached by unprefixed paths); required for every other root. Letters, digits, `_` and `-`.
   */
  name?: string
  /** Globs (minimatch, root-relative); when given, only matching paths are reachable. At least one glob. */
  allow?: string[]
  /** Globs (minimatch, root-relative); a path is refused when it or any of its ancestors matches one. Wins over allow. */
  deny?: string[]
}

/** Options of {@link fsProvider}. */
export interface FsProviderOptions {
  /** The directories exposed, one or more; the first is the default root. */
  roots: FsRootOptions[]
  /** Cap on the bytes one read returns; larger files fail with LIMIT_EXCEEDED. Default 10 MiB. */
  maxReadBytes?: number
  /** Cap on a file's size after a write or append; larger fails with LIMIT_EXCEEDED. Default 10 MiB. */
  maxWriteBytes?: number
  /** Cap on the entries one listing returns; longer listings come back with `truncated: true`. Default 1000. */
  maxListEntries?: number
  /**
   * Globs (minimatch, root-relative, every root) that opt hidden paths back in: dot files and directories
   * and key files are refused unless one of these matches the path (see DEFAULT_HIDDEN_PATTERNS).
   */
  allowHidden?: string[]
}

const glob = z
  .string()
  .min(1, 'a glob must be a non-empty string')
  .refine((value) => !value.includes('\0'), 'a glob must not contain NUL')
  .refine((value) => !value.startsWith('/'), 'globs match root-relative paths and must not start with "/"')

const rootSchema = z.strictObject({
  path: z.string().min(1, 'must be a non-empty path'),
  write: z.boolean().default(false),
  name: z
    .string()
    .regex(ROOT_NAME_PATTERN, 'must be letters, digits, "_" or "-", starting with a letter or "_"')
    .optional(),
  allow: z.array(glob).min(1, 'must list at least one glob; omit it to allow every path').optional(),
  deny: z.array(glob).default([]),
})

const positiveInt = (what: string) =>
  z
    .number()
    .int(`${what} must be an integer`)
    .min(1, `${what} must be an integer ≥ 1`)
    .max(Number.MAX_SAFE_INTEGER, `${what} is too large`)

/** The zod schema of {@link FsProviderOptions} (also the provider's `configSchema`). */
export const fsProviderOptionsSchema = z
  .strictObject({
    roots: z.array(rootSchema).min(1, 'at least one root is required'),
    maxReadBytes: positiveInt('maxReadBytes').default(DEFAULT_MAX_READ_BYTES),
    maxWriteBytes: positiveInt('maxWriteBytes').default(DEFAULT_MAX_WRITE_BYTES),
    maxListEntries: positiveInt('maxListEntries').default(DEFAULT_MAX_LIST_ENTRIES),
    allowHidden: z.array(glob).default([]),
  })
  .superRefine((options, ctx) => {
    const seen = new Set<string>()
    options.roots.forEach((root, index) => {
      if (root.name === undefined) {
        if (index > 0) {
          ctx.addIssue({
            code: 'custom',
            path: ['roots', index, 'name'],
            message: 'is required for every root but the first (paths name it as "name:relative/path")',
          })
        }
        return
      }
      if (seen.has(root.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['roots', index, 'name'],
          message: `${JSON.stringify(root.name)} is used by two roots`,
        })
      }
      seen.add(root.name)
    })
  })

// The public interface and the schema must describe the same options.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
const optionsMatchSchema: Same<FsProviderOptions, z.input<typeof fsProviderOptionsSchema>> = true
void optionsMatchSchema

/** A root after validation: its real path resolved once, its rules compiled. */
export interface ResolvedRoot {
  /** The root's name, or undefined for an unnamed default root. */
  readonly name: string | undefined
  /** Position in `roots`; 0 is the default root. */
  readonly index: number
  /** The root's real path (symlinks resolved when the provider was built); every opened fd must lie inside it. */
  readonly realPath: string
  readonly write: boolean
  readonly policy: PathPolicy
}

/** The provider's options after validation and resolution. */
export interface ResolvedFsOptions {
  readonly roots: readonly ResolvedRoot[]
  readonly maxReadBytes: number
  readonly maxWriteBytes: number
  readonly maxListEntries: number
}

/**
 * Validates `options` and resolves every root to its real path. Throws ProviderDefinitionError with a
 * precise message (`fsProvider: roots[1].name is required …`) on the first problem.
 */
export function resolveFsOptions(options: unknown): ResolvedFsOptions {
  const parsed = parseProviderOptions('fsProvider', fsProviderOptionsSchema, options, {
    expected: 'must be an object with { roots: [...] }',
  })
  // Every opened descriptor is checked through /proc/self/fd; without it the checks cannot be made.
  if (!existsSync('/proc/self/fd')) {
    throw new ProviderDefinitionError(
      'fsProvider needs Linux /proc/self/fd to verify opened files; this platform is not supported',
    )
  }
  const { roots, allowHidden, ...caps } = parsed
  return {
    ...caps,
    roots: roots.map((root, index) => ({
      name: root.name,
      index,
      realPath: resolveRootPath(root.path, index),
      write: root.write,
      policy: new PathPolicy({ allow: root.allow, deny: root.deny, allowHidden }),
    })),
  }
}

function resolveRootPath(given: string, index: number): string {
  const where = `fsProvider: roots[${index}].path`
  let real: string
  try {
    real = realpathSync(path.resolve(given))
  } catch (error) {
    const reason =
      errnoCode(error) === 'ENOENT' ? 'does not exist' : `cannot be resolved (${errnoCode(error) ?? 'error'})`
    throw new ProviderDefinitionError(`${where} ${reason} (got ${JSON.stringify(given)})`, {
      code: 'INVALID_OPTIONS',
      cause: error,
    })
  }
  if (!statSync(real).isDirectory()) {
    throw new ProviderDefinitionError(`${where} must be a directory (got ${JSON.stringify(given)})`, {
      code: 'INVALID_OPTIONS',
    })
  }
  return real
}

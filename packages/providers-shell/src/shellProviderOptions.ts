import { ProviderDefinitionError, parseProviderOptions } from '@capsule/provider-sdk'
import { z } from 'zod'

/** The first-party argument rule sets; see the README for what each refuses. */
export const SHELL_PRESETS = ['git', 'ls', 'cat', 'grep', 'rg', 'find', 'wc', 'tar', 'sort'] as const

/** One of {@link SHELL_PRESETS}. */
export type ShellPreset = (typeof SHELL_PRESETS)[number]

/** Directories searched, in order, for a command given without `path`. Never the caller's PATH. */
export const DEFAULT_SEARCH_PATH: readonly string[] = ['/usr/local/bin', '/usr/bin', '/bin']
/** Wall-time cap of one command when `timeoutMs` is not given: 30 s. */
export const DEFAULT_TIMEOUT_MS = 30_000
/** Cap on each of stdout and stderr when `maxOutputBytes` is not given: 1 MiB. */
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024
/** Cap on the total size of argv (each argument plus its NUL) when `maxArgBytes` is not given: 64 KiB. */
export const DEFAULT_MAX_ARG_BYTES = 64 * 1024
/** Cap on the bytes written to a command's stdin when `maxStdinBytes` is not given: 1 MiB. */
export const DEFAULT_MAX_STDIN_BYTES = 1024 * 1024
/** Commands one session may run at once when `maxConcurrentPerSession` is not given. */
export const DEFAULT_MAX_CONCURRENT_PER_SESSION = 4
/** Directory entries one run may read to find hidden paths when `maxHiddenScanEntries` is not given. */
export const DEFAULT_MAX_HIDDEN_SCAN_ENTRIES = 100_000

/**
 * How one allowlisted command may be called. Every field is optional: `{}` allows the program found
 * on the trusted search path under the command's name, with its preset when it has one.
 */
export interface CommandRule {
  /** Absolute path of the program. Default: the first match for the name in {@link DEFAULT_SEARCH_PATH}. */
  path?: string
  /**
   * First-party argument rules. Default: the preset named like the command or like the resolved
   * program's file name (`git`, `/usr/bin/find`), so a preset cannot be lost by renaming.
   */
  preset?: ShellPreset
  /**
   * Allowed first arguments (git: allowed subcommands, replacing the preset's read-only list). Git
   * subcommands that run programs or touch other repositories also need `dangerous: true`.
   */
  subcommands?: readonly string[]
  /** When given, every option must be one of these (`--name` or `-x`); applied with the preset's rules. */
  allowFlags?: readonly string[]
  /** Options refused in addition to the preset's; long options are refused in any unambiguous prefix. */
  denyFlags?: readonly string[]
  /** Last word on a call: return a reason to refuse it (shown to Python), or undefined to allow it. */
  validate?: (argv: readonly string[]) => string | undefined
  /**
   * Acknowledges that this command can run arbitrary code (shells, interpreters, `env`, `xargs`…)
   * or that its `subcommands` include git subcommands that can. Without it such commands are refused.
   */
  dangerous?: boolean
}

/** A directory commands may run in; `write: false` (the default) binds it read-only in the sandbox. */
export interface ShellRoot {
  path: string
  write?: boolean
}

/** Options of {@link shellProvider}. Only `commands` and `roots` are required. */
export interface ShellProviderOptions {
  /** The allowlist: command name (what Python passes as argv[0]) → rule. */
  commands: Readonly<Record<string, CommandRule>>
  /** Directories a command's cwd and path operands must be inside. The first is the default cwd. */
  roots: readonly ShellRoot[]
  /**
   * Names of host environment variables passed to commands (values read once, at configuration)
   * and that Python may set through `env`. Loader, interpreter and git variables are refused.
   */
  envAllow?: readonly string[]
  /** Wall-time cap per command in ms. Default 30 000. */
  timeoutMs?: number
  /** Cap per stream (stdout, stderr) in bytes; past it the command is killed and `truncated` set. Default 1 MiB. */
  maxOutputBytes?: number
  /** Cap on argv in bytes (each argument plus a NUL). Default 64 KiB. */
  maxArgBytes?: number
  /** Cap on stdin in bytes. Default 1 MiB. */
  maxStdinBytes?: number
  /** Commands one session may run at once; more are LIMIT_EXCEEDED. Default 4. */
  maxConcurrentPerSession?: number
  /** `'bwrap'` requires bubblewrap, `'none'` runs commands directly, `'auto'` (default) uses bwrap when it works. */
  sandbox?: 'auto' | 'bwrap' | 'none'
  /**
   * The unprivileged host uid and gid sandboxed commands run as when the host runs as root (ignored
   * otherwise, and without the sandbox). Default: the owner of the writable roots (a root owned by root
   * is refused), or, with no writable root, a uid of its own per command. See the README.
   */
  sandboxUser?: { uid: number; gid: number }
  /** Whether sandboxed commands share the host's network. Default false (no network namespace access). */
  network?: boolean
  /**
   * Globs (minimatch, root-relative, every root) that opt hidden paths back in, as the files provider's
   * option of the same name: dot files and directories and key files (the SDK's DEFAULT_HIDDEN_PATTERNS)
   * are masked in the sandbox and refused as path operands unless one of these matches.
   */
  allowHidden?: readonly string[]
  /** Cap on directory entries read per run to find hidden paths; past it the run is LIMIT_EXCEEDED. Default 100 000. */
  maxHiddenScanEntries?: number
}

const count = (min: number) =>
  z
    .number({ error: `must be an integer ≥ ${min}` })
    .int({ error: `must be an integer ≥ ${min}` })
    .min(min, { error: `must be an integer ≥ ${min}` })

// Never root (0) and within what Node's spawn accepts (int32).
const unprivilegedId = count(1).max(2147483647, { error: 'must be an integer from 1 to 2147483647' })

const COMMAND_NAME = /^[A-Za-z0-9_][A-Za-z0-9._+-]*$/
const FLAG = /^-{1,2}[^-=\s][^=\s]*$|^-[A-Za-z0-9]$/
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

const commandRule = z
  .object({
    path: z
      .string({ error: 'must be an absolute path' })
      .startsWith('/', { error: 'must be an absolute path' })
      .optional(),
    preset: z.enum(SHELL_PRESETS, { error: `must be one of ${SHELL_PRESETS.join(', ')}` }).optional(),
    subcommands: z.array(z.string().min(1), { error: 'must be an array of non-empty strings' }).optional(),
    allowFlags: z
      .array(z.string().regex(FLAG, { error: 'must be options like "--name" or "-x"' }))
      .optional(),
    denyFlags: z.array(z.string().regex(FLAG, { error: 'must be options like "--name" or "-x"' })).optional(),
    validate: z
      .custom<(argv: readonly string[]) => string | undefined>((v) => typeof v === 'function', {
        error: 'must be a function (argv) => reason | undefined',
      })
      .optional(),
    dangerous: z.boolean({ error: 'must be a boolean' }).optional(),
  })
  .strict()

/** The zod schema of {@link ShellProviderOptions}; also the provider's `configSchema`. */
export const shellProviderOptionsSchema = z
  .object({
    commands: z
      .record(
        z.string().regex(COMMAND_NAME, { error: 'command names must be plain file names like "git"' }),
        commandRule,
        {
          error: 'must be an object of command name → rule',
        },
      )
      .refine((commands) => Object.keys(commands).length > 0, { error: 'must allow at least one command' }),
    roots: z
      .array(
        z
          .object({
            path: z
              .string({ error: 'must be a directory path' })
              .min(1, { error: 'must be a directory path' }),
            write: z.boolean({ error: 'must be a boolean' }).default(false),
          })
          .strict(),
        { error: 'must be an array of { path, write? }' },
      )
      .min(1, { error: 'must list at least one root directory' }),
    envAllow: z
      .array(z.string().regex(ENV_NAME, { error: 'must be environment variable names' }))
      .default([]),
    timeoutMs: count(1).default(DEFAULT_TIMEOUT_MS),
    maxOutputBytes: count(1).default(DEFAULT_MAX_OUTPUT_BYTES),
    maxArgBytes: count(1).default(DEFAULT_MAX_ARG_BYTES),
    maxStdinBytes: count(0).default(DEFAULT_MAX_STDIN_BYTES),
    maxConcurrentPerSession: count(1).default(DEFAULT_MAX_CONCURRENT_PER_SESSION),
    sandbox: z
      .enum(['auto', 'bwrap', 'none'], { error: 'must be "auto", "bwrap" or "none"' })
      .default('auto'),
    sandboxUser: z
      .strictObject(
        { uid: unprivilegedId, gid: unprivilegedId },
        { error: 'must be { uid, gid } of an unprivileged user' },
      )
      .optional(),
    network: z.boolean({ error: 'must be a boolean' }).default(false),
    allowHidden: z
      .array(
        z
          .string()
          .min(1, { error: 'must be non-empty root-relative globs' })
          .refine((glob) => !glob.startsWith('/') && !glob.includes('\0'), {
            error: 'must be root-relative globs (no leading "/", no NUL)',
          }),
        { error: 'must be an array of globs' },
      )
      .default([]),
    maxHiddenScanEntries: count(1).default(DEFAULT_MAX_HIDDEN_SCAN_ENTRIES),
  })
  .strict()

/** {@link ShellProviderOptions} after validation, defaults filled in. */
export type ParsedShellProviderOptions = z.output<typeof shellProviderOptionsSchema>

/** Throws the provider's configuration error: `shellProvider: <message>`. */
export function configError(message: string): never {
  throw new ProviderDefinitionError(`shellProvider: ${message}`, { code: 'INVALID_OPTIONS' })
}

/**
 * Validates options eagerly and fills defaults. Throws ProviderDefinitionError naming the first
 * problem, e.g. `shellProvider: options.timeoutMs must be an integer ≥ 1 (got 0)`.
 */
export function parseShellProviderOptions(options: ShellProviderOptions): ParsedShellProviderOptions {
  return parseProviderOptions('shellProvider', shellProviderOptionsSchema, options, {
    expected: 'must be an object with { commands, roots }',
  })
}

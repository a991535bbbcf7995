import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { formatZodIssue, type ProviderDefinition } from '@capsule/provider-sdk'
import { z } from 'zod'
import { CapsuleError } from '../errors.js'
import { type CapsuleOptions, capsuleOptionsSchema } from './capsuleOptionsSchema.js'

/** File names looked up, in this order, when no config file is named. */
export const CAPSULE_CONFIG_FILES = [
  'capsule.config.json',
  'capsule.config.mjs',
  'capsule.config.js',
  'capsule.config.ts',
] as const

/** Where a provider factory is being called from: the config key and the directory relative paths start at. */
export interface ProviderFactoryContext {
  /** The key under `providers` (`fs`, `http`, `kv`…). */
  name: string
  /** The config file's directory (or `baseDir` for an object source): resolve relative paths against it. */
  baseDir: string
}

/** Builds a provider from the options a config gives it (`fsProvider`, `httpProvider`, …). */
export type ProviderFactory = (options: unknown, context: ProviderFactoryContext) => ProviderDefinition

/** Options of {@link loadCapsuleConfig}. */
export interface LoadCapsuleConfigOptions {
  /**
   * Factories for providers named by key (`"fs": {...}`). Core knows no provider packages, so the caller
   * passes them (the CLI passes fs, http and shell). Entries with `module` need no factory.
   */
  providerFactories?: Record<string, ProviderFactory>
  /**
   * Loads a module: a JS/TS config file or a provider `module` (given an absolute path or a package
   * name). Default: native `import()`, which loads `.ts` only on Node versions that strip types.
   */
  importModule?: (specifier: string) => Promise<unknown>
  /** Where relative paths of an object source resolve (default: the current directory). */
  baseDir?: string
  /** How errors name an object source (default `config`). */
  label?: string
}

/** A config read from a file, before providers are built. */
export interface CapsuleConfigFile {
  /** The parsed (not yet validated) config object. */
  config: unknown
  /** The path as given, used to prefix error messages. */
  label: string
  /** The file's directory, where relative paths resolve. */
  baseDir: string
}

/** A `providers` entry that loads a third-party provider factory with dynamic import. */
export interface ProviderModuleEntry {
  /** A package name or a path relative to the config file. */
  module: string
  /** The factory's export name (default: `default`). */
  export?: string
  /** Passed to the factory. */
  options?: unknown
}

const PROVIDER_KEY = /^[a-z][a-z0-9_]*$/

const providerDefinitionSchema = z.custom<ProviderDefinition>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { name?: unknown }).name === 'string' &&
    Array.isArray((value as { capabilities?: unknown }).capabilities),
  { error: 'expected a provider definition (the result of a provider factory such as fsProvider(...))' },
)

const providerModuleEntrySchema = z.strictObject({
  module: z.string().min(1),
  export: z.string().min(1).optional(),
  options: z.unknown().optional(),
})

/** The options a config file may set: the declarative ones (no callbacks, stores or clocks). */
const CONFIG_FILE_OPTIONS = {
  level: true,
  allow: true,
  deny: true,
  sandbox: true,
  python: true,
  codec: true,
  bwrapPath: true,
  sandboxUser: true,
  cwd: true,
  env: true,
  mounts: true,
  limits: true,
  maxCheckpointBytes: true,
} as const satisfies Partial<Record<keyof CapsuleOptions, true>>

/**
 * The schema of a Capsule config file: the declarative part of CapsuleOptions. `providers` is an object of
 * provider key → options (or `{ module, export?, options? }`), or — in a JS/TS config — an array of ready
 * provider definitions. Unknown keys are errors.
 */
export const capsuleConfigSchema = capsuleOptionsSchema.pick(CONFIG_FILE_OPTIONS).extend({
  /** The JSON Schema an editor validates the file with; ignored by Capsule. */
  $schema: z.string().optional(),
  /**
   * Providers by key (`"fs": { roots: [...] }`, `"kv": { "module": "…", "export": "…" }`), or in a JS/TS
   * config an array of provider definitions.
   */
  providers: z
    .union([
      z.record(
        z.string().regex(PROVIDER_KEY, 'provider keys are lowercase identifiers like "fs"'),
        z.unknown(),
      ),
      z.array(providerDefinitionSchema),
    ])
    .optional(),
})

/** A validated config (the input shape of {@link capsuleConfigSchema}). */
export type CapsuleConfig = z.infer<typeof capsuleConfigSchema>

/**
 * Finds the config file in `dir`: one of {@link CAPSULE_CONFIG_FILES}, or undefined. Two candidates are an
 * INVALID_OPTIONS error, since silently preferring one hides the other.
 */
export function findCapsuleConfig(dir: string = process.cwd()): string | undefined {
  const found = CAPSULE_CONFIG_FILES.map((name) => path.join(dir, name)).filter((file) => existsSync(file))
  if (found.length > 1) {
    throw new CapsuleError(
      'INVALID_OPTIONS',
      `${found.map((file) => path.basename(file)).join(' and ')} both exist in ${dir}; keep one or name it explicitly`,
    )
  }
  return found[0]
}

/**
 * Reads a config file without validating it: JSON is parsed, `.js`/`.mjs`/`.ts` are imported and their
 * default export taken. Failures are INVALID_OPTIONS errors that name the file.
 */
export async function readCapsuleConfigFile(
  file: string,
  options: Pick<LoadCapsuleConfigOptions, 'importModule'> = {},
): Promise<CapsuleConfigFile> {
  const absolute = path.resolve(file)
  const label = file
  const baseDir = path.dirname(absolute)
  const extension = path.extname(absolute)
  if (extension === '.json') {
    let text: string
    try {
      text = await readFile(absolute, 'utf8')
    } catch (error) {
      throw configError(
        label,
        `cannot read the file (${(error as NodeJS.ErrnoException).code ?? error})`,
        error,
      )
    }
    try {
      return { config: JSON.parse(text), label, baseDir }
    } catch (error) {
      throw configError(label, `invalid JSON: ${(error as Error).message}`, error)
    }
  }
  if (!['.js', '.mjs', '.cjs', '.ts', '.mts'].includes(extension)) {
    throw configError(label, 'a config file must end in .json, .js, .mjs, .cjs, .ts or .mts')
  }
  if (!existsSync(absolute)) throw configError(label, 'the file does not exist')
  let loaded: unknown
  try {
    loaded = await (options.importModule ?? defaultImportModule)(absolute)
  } catch (error) {
    if (error instanceof CapsuleError) throw error
    const code = (error as NodeJS.ErrnoException).code
    const hint =
      code === 'ERR_UNKNOWN_FILE_EXTENSION'
        ? '; this Node cannot import TypeScript: use a .mjs/.json config, or load it with tsx'
        : ''
    throw configError(label, `cannot load the module: ${firstLine(error)}${hint}`, error)
  }
  const config = (loaded as { default?: unknown } | null)?.default
  if (config === undefined) throw configError(label, 'the module must `export default` a config object')
  return { config, label, baseDir }
}

/**
 * Turns a config — a file path or an object — into CapsuleOptions: validates it against
 * {@link capsuleConfigSchema}, builds providers with the given factories or by importing their `module`,
 * and resolves relative paths (`cwd`, `python`, mounts, modules) against the config file's directory.
 * Errors are INVALID_OPTIONS with one line naming the file and the bad key:
 * `capsule.config.json: limits.callTimeoutMs: expected number, got string`.
 */
export async function loadCapsuleConfig(
  source: string | object,
  options: LoadCapsuleConfigOptions = {},
): Promise<CapsuleOptions> {
  const file: CapsuleConfigFile =
    typeof source === 'string'
      ? await readCapsuleConfigFile(source, options)
      : {
          config: source,
          label: options.label ?? 'config',
          baseDir: path.resolve(options.baseDir ?? process.cwd()),
        }
  return resolveConfig(file, options)
}

async function resolveConfig(
  file: CapsuleConfigFile,
  options: LoadCapsuleConfigOptions,
): Promise<CapsuleOptions> {
  const { label, baseDir } = file
  if (typeof file.config !== 'object' || file.config === null || Array.isArray(file.config)) {
    throw configError(label, `expected a config object, got ${describeValue(file.config)}`)
  }
  const parsed = capsuleConfigSchema.safeParse(file.config)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw configError(
      label,
      formatZodIssue(issue, { input: file.config, schema: capsuleConfigSchema }),
      undefined,
      {
        issues: parsed.error.issues,
      },
    )
  }
  const config = parsed.data
  const resolvePath = (value: string) => path.resolve(baseDir, value)
  const out: CapsuleOptions = {}
  if (config.level !== undefined) out.level = config.level
  if (config.allow !== undefined) out.allow = config.allow
  if (config.deny !== undefined) out.deny = config.deny
  if (config.sandbox !== undefined) out.sandbox = config.sandbox
  // A bare name (`python3`) is looked up on PATH; anything with a slash is a path relative to the file.
  if (config.python !== undefined)
    out.python = config.python.includes('/') ? resolvePath(config.python) : config.python
  if (config.codec !== undefined) out.codec = config.codec
  if (config.bwrapPath !== undefined) out.bwrapPath = resolvePath(config.bwrapPath)
  if (config.sandboxUser !== undefined) {
    const { leaseDir, ...ids } = config.sandboxUser
    out.sandboxUser = leaseDir === undefined ? ids : { ...ids, leaseDir: resolvePath(leaseDir) }
  }
  if (config.cwd !== undefined) out.cwd = resolvePath(config.cwd)
  if (config.env !== undefined) out.env = config.env
  if (config.mounts !== undefined)
    out.mounts = config.mounts.map((mount) => ({ ...mount, source: resolvePath(mount.source) }))
  if (config.limits !== undefined) out.limits = config.limits
  if (config.providers !== undefined) out.providers = await buildProviders(config.providers, file, options)
  return out
}

async function buildProviders(
  providers: NonNullable<CapsuleConfig['providers']>,
  file: CapsuleConfigFile,
  options: LoadCapsuleConfigOptions,
): Promise<ProviderDefinition[]> {
  if (Array.isArray(providers)) return providers
  const built: ProviderDefinition[] = []
  for (const [name, entry] of Object.entries(providers)) {
    const where = `providers.${name}`
    const context: ProviderFactoryContext = { name, baseDir: file.baseDir }
    let factory: ProviderFactory
    let factoryOptions: unknown
    if (typeof entry === 'object' && entry !== null && 'module' in entry) {
      const parsed = providerModuleEntrySchema.safeParse(entry)
      if (!parsed.success) {
        throw configError(
          file.label,
          formatZodIssue(parsed.error.issues[0]!, {
            input: entry,
            schema: providerModuleEntrySchema,
            prefix: ['providers', name],
          }),
        )
      }
      factory = await importFactory(parsed.data, where, file, options)
      factoryOptions = parsed.data.options
    } else {
      const known = options.providerFactories?.[name]
      if (!known) {
        const names = Object.keys(options.providerFactories ?? {})
        throw configError(
          file.label,
          `${where}: no built-in provider is named "${name}"` +
            `${names.length ? ` (built in: ${names.join(', ')})` : ''}; load a third-party one with { "module": "package-name", "export": "factoryName", "options": {…} }`,
        )
      }
      factory = known
      factoryOptions = entry
    }
    let definition: ProviderDefinition
    try {
      definition = factory(factoryOptions, context)
    } catch (error) {
      throw configError(file.label, `${where}: ${firstLine(error)}`, error)
    }
    if (!providerDefinitionSchema.safeParse(definition).success) {
      throw configError(file.label, `${where}: the factory did not return a provider definition`)
    }
    built.push(definition)
  }
  return built
}

async function importFactory(
  entry: ProviderModuleEntry,
  where: string,
  file: CapsuleConfigFile,
  options: LoadCapsuleConfigOptions,
): Promise<ProviderFactory> {
  const specifier = resolveModuleSpecifier(entry.module, file.baseDir)
  let loaded: Record<string, unknown>
  try {
    loaded = (await (options.importModule ?? defaultImportModule)(specifier)) as Record<string, unknown>
  } catch (error) {
    throw configError(
      file.label,
      `${where}.module: cannot import "${entry.module}": ${firstLine(error)}`,
      error,
    )
  }
  const exportName = entry.export ?? 'default'
  const factory = loaded?.[exportName]
  if (typeof factory !== 'function') {
    throw configError(
      file.label,
      `${where}.export: "${entry.module}" has no function export named "${exportName}" (got ${describeValue(factory)})`,
    )
  }
  return factory as ProviderFactory
}

// Paths are relative to the config file; package names resolve from its directory, as the user's project sees them.
function resolveModuleSpecifier(specifier: string, baseDir: string): string {
  if (specifier.startsWith('.') || path.isAbsolute(specifier)) return path.resolve(baseDir, specifier)
  try {
    return createRequire(path.join(baseDir, 'noop.js')).resolve(specifier)
  } catch {
    // ESM-only packages cannot be require-resolved; let import() find them from here.
    return specifier
  }
}

function defaultImportModule(specifier: string): Promise<unknown> {
  return import(path.isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier)
}

function configError(
  label: string,
  message: string,
  cause?: unknown,
  details: Record<string, unknown> = {},
): CapsuleError {
  return new CapsuleError('INVALID_OPTIONS', `${label}: ${message}`, {
    cause,
    details: { file: label, ...details },
  })
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.split('\n')[0] ?? message
}

function describeValue(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return typeof value
}

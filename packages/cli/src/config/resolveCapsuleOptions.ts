import path from 'node:path'
import {
  type CapsuleOptions,
  findCapsuleConfig,
  isCapsuleError,
  loadCapsuleConfig,
  readCapsuleConfigFile,
} from '@capsule/core'
import { CliError, EXIT_USAGE, usageError } from '../cliError.js'
import type { CapsuleFlags, FsRootFlag } from './capsuleFlags.js'
import { importModule } from './importModule.js'
import { loadFirstPartyProviders } from './providerFactories.js'

/** CapsuleOptions built from a config file and flags, with where they came from. */
export interface ResolvedCapsuleOptions {
  options: CapsuleOptions
  /** The config file used, if any. */
  configFile: string | undefined
  /** Provider keys the flags configured (`http`, `fs`, `shell`), to warn when the level grants none of them. */
  flagProviders: string[]
}

type RawConfig = Record<string, unknown>
type ProviderRecord = Record<string, unknown>

/**
 * Reads the config (`--config`, else `capsule.config.*` in `cwd`, unless `--no-config`), lays the flags over
 * it and builds CapsuleOptions with the first-party provider factories. Scalar flags replace config values;
 * `--allow`/`--deny` and the provider flags add to the config's lists. Every failure is a one-line CliError
 * with exit code 2.
 */
export async function resolveCapsuleOptions(
  flags: CapsuleFlags,
  cwd: string = process.cwd(),
): Promise<ResolvedCapsuleOptions> {
  try {
    return await resolve(flags, cwd)
  } catch (error) {
    if (error instanceof CliError) throw error
    if (isCapsuleError(error)) throw new CliError('CONFIG', error.message, EXIT_USAGE, { cause: error })
    throw error
  }
}

async function resolve(flags: CapsuleFlags, cwd: string): Promise<ResolvedCapsuleOptions> {
  let configFile: string | undefined
  if (flags.config !== undefined) configFile = flags.config
  else if (!flags.noConfig) {
    const found = findCapsuleConfig(cwd)
    if (found) configFile = path.relative(cwd, found) || found
  }
  let raw: unknown = {}
  let label = 'flags'
  let baseDir = cwd
  if (configFile !== undefined) {
    const read = await readCapsuleConfigFile(path.resolve(cwd, configFile), { importModule })
    raw = read.config
    label = configFile
    baseDir = read.baseDir
  }
  // A config that is not an object cannot take flags; the loader says what is wrong with it.
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    await loadCapsuleConfig(raw as object, { importModule, label, baseDir })
    throw new CliError('CONFIG', `${label}: expected a config object`)
  }
  const config: RawConfig = { ...(raw as RawConfig) }
  if (flags.level !== undefined) config.level = flags.level
  if (flags.sandbox !== undefined) config.sandbox = flags.sandbox
  if (flags.python !== undefined) config.python = flags.python
  if (flags.allow.length > 0) config.allow = append(config.allow, flags.allow)
  if (flags.deny.length > 0) config.deny = append(config.deny, flags.deny)
  const hasLimitFlags = flags.executeTimeoutMs !== undefined || flags.memoryMb !== undefined
  // A malformed `limits` is left alone so the loader reports it.
  if (hasLimitFlags && (config.limits === undefined || isRecord(config.limits))) {
    const limits = { ...asRecord(config.limits) }
    if (flags.executeTimeoutMs !== undefined) limits.executeTimeoutMs = flags.executeTimeoutMs
    if (flags.memoryMb !== undefined) limits.memoryMb = flags.memoryMb
    config.limits = limits
  }

  const flagProviders: string[] = []
  if (flags.allowHosts.length > 0 || flags.allowHttp) flagProviders.push('http')
  if (flags.fsRoots.length > 0) flagProviders.push('fs')
  if (flags.allowCommands.length > 0) flagProviders.push('shell')

  let options: CapsuleOptions
  if (Array.isArray(config.providers)) {
    // Ready provider definitions (a JS config) cannot be edited: the flags' providers are added beside them.
    const flagRecord = mergeProviderFlags({}, flags, cwd)
    const providerFactories = await loadFirstPartyProviders(Object.keys(flagRecord))
    options = await loadCapsuleConfig(config, { importModule, label, baseDir })
    const extra = await loadCapsuleConfig(
      { providers: flagRecord },
      { providerFactories, importModule, label: 'flags', baseDir },
    )
    options.providers = [...(options.providers ?? []), ...(extra.providers ?? [])]
  } else {
    if (flagProviders.length > 0) {
      config.providers = mergeProviderFlags({ ...asRecord(config.providers) }, flags, cwd)
    }
    const providerFactories = await loadFirstPartyProviders(Object.keys(asRecord(config.providers)))
    options = await loadCapsuleConfig(config, { providerFactories, importModule, label, baseDir })
  }
  return { options, configFile, flagProviders }
}

function mergeProviderFlags(providers: ProviderRecord, flags: CapsuleFlags, cwd: string): ProviderRecord {
  if (flags.allowHosts.length > 0 || flags.allowHttp) {
    const http = editable(providers, 'http', '--allow-host')
    if (flags.allowHosts.length > 0) http.allow = [...asArray(http.allow), ...flags.allowHosts]
    if (flags.allowHttp) {
      if (asArray(http.allow).length === 0) {
        throw usageError('--allow-http needs --allow-host (or an http provider in the config)')
      }
      http.schemes = ['https', 'http']
    }
  }
  if (flags.fsRoots.length > 0) {
    const fs = editable(providers, 'fs', '--fs-root')
    fs.roots = [...asArray(fs.roots), ...nameRoots(asArray(fs.roots), flags.fsRoots)]
  }
  if (flags.allowCommands.length > 0) {
    const shell = editable(providers, 'shell', '--allow-command')
    const commands = { ...asRecord(shell.commands) }
    for (const name of flags.allowCommands) commands[name] ??= {}
    shell.commands = commands
    if (shell.roots === undefined) {
      // Commands run where Python may already look: the fs roots, else the current directory (read-only).
      const fsRoots = asArray(asRecord(providers.fs).roots) as Array<{ path?: unknown; write?: unknown }>
      shell.roots =
        fsRoots.length > 0
          ? fsRoots.map((root) => ({ path: root.path, write: root.write === true }))
          : [{ path: cwd }]
    }
  }
  return providers
}

// Returns a copy of providers[key] to add flags to, refusing entries the flags cannot extend.
function editable(providers: ProviderRecord, key: string, flag: string): RawConfig {
  const current = providers[key]
  if (current !== undefined && (typeof current !== 'object' || current === null || Array.isArray(current))) {
    throw usageError(`${flag} cannot extend providers.${key}: it is not an options object`)
  }
  if (current && 'module' in current) {
    throw usageError(`${flag} cannot extend providers.${key}: it is loaded from a module`)
  }
  const copy: RawConfig = { ...(current as RawConfig | undefined) }
  providers[key] = copy
  return copy
}

// fsProvider needs a name for every root after the first; flags name them after their directory.
function nameRoots(
  existing: unknown[],
  roots: FsRootFlag[],
): Array<{ path: string; write: boolean; name?: string }> {
  const taken = new Set(
    existing.map((root) => (root as { name?: unknown })?.name).filter((name) => typeof name === 'string'),
  )
  return roots.map((root, index) => {
    if (existing.length === 0 && index === 0) return { path: root.path, write: root.write }
    const base =
      path
        .basename(root.path)
        .replace(/[^A-Za-z0-9_-]/g, '_')
        .replace(/^[^A-Za-z_]/, '_$&') || 'root'
    let name = base
    for (let n = 2; taken.has(name); n += 1) name = `${base}_${n}`
    taken.add(name)
    return { path: root.path, write: root.write, name }
  })
}

// Adds flag values to a config list; a malformed list is left alone so the loader reports it.
function append(value: unknown, extra: string[]): unknown {
  if (value === undefined) return extra
  return Array.isArray(value) ? [...value, ...extra] : value
}

function isRecord(value: unknown): value is RawConfig {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : []
}

function asRecord(value: unknown): RawConfig {
  return isRecord(value) ? value : {}
}

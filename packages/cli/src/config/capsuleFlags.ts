import { statSync } from 'node:fs'
import path from 'node:path'
import type { ParseArgsConfig } from 'node:util'
import { SECURITY_LEVELS, type SecurityLevel } from '@capsule/core'
import { usageError } from '../cliError.js'

/** The flags every command that starts Python shares (`exec`, `run`, `repl`), in `parseArgs` form. */
export const CAPSULE_FLAG_OPTIONS = {
  level: { type: 'string' },
  allow: { type: 'string', multiple: true },
  deny: { type: 'string', multiple: true },
  'allow-host': { type: 'string', multiple: true },
  'allow-http': { type: 'boolean' },
  'fs-root': { type: 'string', multiple: true },
  'allow-command': { type: 'string', multiple: true },
  sandbox: { type: 'string' },
  timeout: { type: 'string' },
  memory: { type: 'string' },
  python: { type: 'string' },
  config: { type: 'string' },
  'no-config': { type: 'boolean' },
  'audit-log': { type: 'string' },
  'output-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>

/** One `--fs-root PATH[:rw]`: an absolute directory and whether Python may write under it. */
export interface FsRootFlag {
  path: string
  write: boolean
}

/** The shared flags, checked and typed. Paths are absolute (resolved against the current directory). */
export interface CapsuleFlags {
  level?: SecurityLevel
  allow: string[]
  deny: string[]
  allowHosts: string[]
  allowHttp: boolean
  fsRoots: FsRootFlag[]
  allowCommands: string[]
  sandbox?: 'auto' | 'bwrap' | 'none'
  /** `--timeout` in milliseconds. */
  executeTimeoutMs?: number
  memoryMb?: number
  python?: string
  config?: string
  noConfig: boolean
  auditLog?: string
  outputDir?: string
}

type FlagValues = { [K in keyof typeof CAPSULE_FLAG_OPTIONS]?: unknown }

const SANDBOX_MODES = ['auto', 'bwrap', 'none'] as const
const COMMAND_NAME = /^[A-Za-z0-9_][A-Za-z0-9._+-]*$/

/** Checks the shared flags parsed by `parseArgs`; a bad value is a one-line usage error. */
export function readCapsuleFlags(values: FlagValues, cwd: string = process.cwd()): CapsuleFlags {
  const list = (value: unknown) => (Array.isArray(value) ? (value as string[]) : [])
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined)
  const flags: CapsuleFlags = {
    allow: list(values.allow),
    deny: list(values.deny),
    allowHosts: list(values['allow-host']),
    allowHttp: values['allow-http'] === true,
    fsRoots: list(values['fs-root']).map((value) => readFsRoot(value, cwd)),
    allowCommands: list(values['allow-command']),
    noConfig: values['no-config'] === true,
  }
  const level = text(values.level)
  if (level !== undefined) {
    if (!(SECURITY_LEVELS as readonly string[]).includes(level)) {
      throw usageError(`--level must be one of ${SECURITY_LEVELS.join(', ')} (got ${JSON.stringify(level)})`)
    }
    flags.level = level as SecurityLevel
  }
  const sandbox = text(values.sandbox)
  if (sandbox !== undefined) {
    if (!(SANDBOX_MODES as readonly string[]).includes(sandbox)) {
      throw usageError(`--sandbox must be one of auto, bwrap, none (got ${JSON.stringify(sandbox)})`)
    }
    flags.sandbox = sandbox as CapsuleFlags['sandbox']
  }
  const timeout = text(values.timeout)
  if (timeout !== undefined) {
    const seconds = Number(timeout)
    if (timeout.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > 2_000_000) {
      throw usageError(
        `--timeout must be a number of seconds ≥ 0, 0 for none (got ${JSON.stringify(timeout)})`,
      )
    }
    flags.executeTimeoutMs = Math.round(seconds * 1000)
  }
  const memory = text(values.memory)
  if (memory !== undefined) {
    if (!/^\d+$/.test(memory) || Number(memory) > 2 ** 31 - 1) {
      throw usageError(`--memory must be a whole number of MiB, 0 for none (got ${JSON.stringify(memory)})`)
    }
    flags.memoryMb = Number(memory)
  }
  for (const name of flags.allowCommands) {
    if (!COMMAND_NAME.test(name)) {
      throw usageError(`--allow-command takes a command name like git (got ${JSON.stringify(name)})`)
    }
  }
  for (const host of flags.allowHosts) {
    if (host.includes('/')) {
      throw usageError(
        `--allow-host takes a host like api.example.com, not a URL (got ${JSON.stringify(host)})`,
      )
    }
  }
  const python = text(values.python)
  if (python !== undefined) flags.python = python.includes('/') ? path.resolve(cwd, python) : python
  const config = text(values.config)
  if (config !== undefined) {
    if (flags.noConfig) throw usageError('--config and --no-config cannot be used together')
    flags.config = config
  }
  const auditLog = text(values['audit-log'])
  if (auditLog !== undefined) flags.auditLog = path.resolve(cwd, auditLog)
  const outputDir = text(values['output-dir'])
  if (outputDir !== undefined) flags.outputDir = path.resolve(cwd, outputDir)
  return flags
}

function readFsRoot(value: string, cwd: string): FsRootFlag {
  let given = value
  let write = false
  if (given.endsWith(':rw') || given.endsWith(':ro')) {
    write = given.endsWith(':rw')
    given = given.slice(0, -3)
  }
  const absolute = path.resolve(cwd, given)
  let isDirectory = false
  try {
    isDirectory = statSync(absolute).isDirectory()
  } catch {
    // reported below
  }
  if (given === '' || !isDirectory) {
    throw usageError(`--fs-root ${value}: ${JSON.stringify(given)} is not an existing directory`)
  }
  return { path: absolute, write }
}

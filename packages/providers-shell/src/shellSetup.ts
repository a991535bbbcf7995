import { realpathSync, statSync } from 'node:fs'
import { forbiddenEnvReason } from './envPolicy.js'
import { HiddenPathPolicy } from './hiddenPaths.js'
import type { ResolvedRoot } from './pathGuard.js'
import { type ResolvedCommand, resolveCommand } from './resolveCommand.js'
import {
  configError,
  DEFAULT_SEARCH_PATH,
  type ParsedShellProviderOptions,
  parseShellProviderOptions,
  type ShellProviderOptions,
} from './shellProviderOptions.js'
import { chooseSandbox, type SandboxChoice } from './shellSandboxChoice.js'

/** What a shell provider settles once, at configuration, and every call reads. */
export interface ShellSetup {
  readonly options: ParsedShellProviderOptions
  /** The roots, resolved to real directories. */
  readonly roots: readonly ResolvedRoot[]
  /** The allowlisted commands by name, their programs resolved. */
  readonly commands: ReadonlyMap<string, ResolvedCommand>
  readonly sandbox: SandboxChoice
  readonly hidden: HiddenPathPolicy
  /** The host's values of the `envAllow` variables it has set. */
  readonly allowedValues: Readonly<Record<string, string>>
  /** PATH of every command. */
  readonly searchPath: string
}

/** Checks the options and settles everything that does not change between calls; bad options throw. */
export function resolveShellSetup(options: ShellProviderOptions): ShellSetup {
  const parsed = parseShellProviderOptions(options)
  const roots = resolveRoots(parsed)
  for (const name of parsed.envAllow) {
    const reason = forbiddenEnvReason(name)
    if (reason !== undefined) configError(`options.envAllow must not list ${name}: ${reason}`)
  }
  const commands = new Map<string, ResolvedCommand>()
  for (const [name, rule] of Object.entries(parsed.commands)) {
    commands.set(name, resolveCommand(name, rule, DEFAULT_SEARCH_PATH, roots))
  }
  const sandbox = chooseSandbox(
    parsed,
    roots,
    [...commands.values()].map((c) => c.program),
  )
  const hidden = new HiddenPathPolicy(parsed.allowHidden)
  const allowedValues: Record<string, string> = {}
  for (const name of parsed.envAllow) {
    const value = process.env[name]
    if (value !== undefined) allowedValues[name] = value
  }
  return {
    options: parsed,
    roots,
    commands,
    sandbox,
    hidden,
    allowedValues,
    searchPath: DEFAULT_SEARCH_PATH.join(':'),
  }
}

function resolveRoots(parsed: ParsedShellProviderOptions): ResolvedRoot[] {
  return parsed.roots.map((root, i) => {
    let real: string
    try {
      real = realpathSync(root.path)
    } catch {
      return configError(`options.roots[${i}].path ${JSON.stringify(root.path)} does not exist`)
    }
    if (!statSync(real).isDirectory())
      configError(`options.roots[${i}].path ${JSON.stringify(root.path)} is not a directory`)
    if (real === '/') configError(`options.roots[${i}].path must not be / (that would expose the whole host)`)
    return { path: real, write: root.write }
  })
}

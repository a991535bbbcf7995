import { accessSync, constants, realpathSync, statSync } from 'node:fs'
import path from 'node:path'
import { isDangerousCommand } from './dangerousCommands.js'
import { isInside, type ResolvedRoot } from './pathGuard.js'
import { GIT_READ_ONLY_SUBCOMMANDS, GIT_WRITE_SUBCOMMANDS } from './presets/gitPreset.js'
import { type CommandRule, configError, SHELL_PRESETS, type ShellPreset } from './shellProviderOptions.js'

/** An allowlisted command after configuration: the real program it runs and the rules it obeys. */
export interface ResolvedCommand {
  /** The allowlisted name (argv[0] as Python passes it). */
  name: string
  /** Real absolute path of the program executed. */
  program: string
  /** Other spellings accepted as argv[0]: the configured `path` and the real path. */
  aliases: readonly string[]
  preset: ShellPreset | undefined
  rule: CommandRule
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK)
    return statSync(file).isFile()
  } catch {
    return false
  }
}

/**
 * Resolves one allowlisted command, once, at configuration: its `path`, or the first executable
 * `name` in `searchPath`; symlinks resolved. Refuses a program inside a root (a planted `./git`), a
 * missing one, and dangerous programs without `dangerous: true`.
 */
export function resolveCommand(
  name: string,
  rule: CommandRule,
  searchPath: readonly string[],
  roots: readonly ResolvedRoot[],
): ResolvedCommand {
  const where = `commands.${name}`
  let found: string | undefined
  if (rule.path !== undefined) {
    if (!isExecutableFile(rule.path))
      configError(`${where}.path ${JSON.stringify(rule.path)} is not an executable file`)
    found = rule.path
  } else {
    found = searchPath.map((dir) => path.join(dir, name)).find(isExecutableFile)
    if (found === undefined)
      configError(`${where}: no executable ${JSON.stringify(name)} in ${searchPath.join(':')}`)
  }
  const program = realpathSync(found)
  for (const candidate of [found, program]) {
    const root = roots.find((r) => isInside(candidate, r.path))
    if (root !== undefined) {
      configError(
        `${where}: ${candidate} is inside the root ${root.path}; programs are never run from a root`,
      )
    }
  }
  const basename = path.basename(program)
  const dangerousName = [name, path.basename(found), basename].find(isDangerousCommand)
  if (dangerousName !== undefined && rule.dangerous !== true) {
    configError(
      `${where}: ${dangerousName} can run arbitrary programs; allowing it makes shell.run a shell. ` +
        'Set { dangerous: true } to acknowledge this',
    )
  }
  const preset =
    rule.preset ??
    [name, path.basename(found), basename].find((n): n is ShellPreset =>
      (SHELL_PRESETS as readonly string[]).includes(n),
    )
  if (preset === 'git' && rule.subcommands !== undefined && rule.dangerous !== true) {
    const risky = rule.subcommands.find(
      (s) => !GIT_READ_ONLY_SUBCOMMANDS.includes(s) && !GIT_WRITE_SUBCOMMANDS.includes(s),
    )
    if (risky !== undefined) {
      configError(
        `${where}.subcommands: git ${risky} can run programs or reach outside the roots; set { dangerous: true } to acknowledge this`,
      )
    }
  }
  return { name, program, aliases: [...new Set([name, found, program])], preset, rule }
}

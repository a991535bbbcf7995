import { statSync } from 'node:fs'
import { CapabilityError } from '@capsule/provider-sdk'
import { checkFlags, scanArgs } from './argvScan.js'
import { type ResolvedRoot, realpathLenient, rootOf } from './pathGuard.js'
import type { PresetContext } from './presets/presetContext.js'
import { PRESET_CHECKS } from './presets/presetRules.js'
import type { ResolvedCommand } from './resolveCommand.js'
import type { ShellRunArgs } from './shellRunSchemas.js'
import type { ShellSetup } from './shellSetup.js'

/** A `shell.run` call that passed every rule: what to run, where, and with what. */
export interface CheckedShellCall {
  readonly command: ResolvedCommand
  /** The argv as called (argv[0] may be an alias of the command). */
  readonly argv: readonly string[]
  /** The real working directory, inside a root. */
  readonly cwd: string
  /** The caller's environment variables, all allowed. */
  readonly overrides: Record<string, string>
  readonly stdin: Uint8Array | undefined
  /** The caller's own time cap in ms, or Infinity when it set none. */
  readonly requestedTimeoutMs: number
}

const denied = (message: string, details?: Record<string, string>) =>
  new CapabilityError('DENIED', message, details === undefined ? {} : { details })

/**
 * Applies the provider's rules to a call before anything runs: the allowlist, argument size and NUL,
 * cwd inside the roots and not hidden, the environment allowlist, stdin size and the command's argument
 * rules. A refusal is a CapabilityError (DENIED, INVALID_ARGUMENT or LIMIT_EXCEEDED).
 */
export function checkShellCall(args: ShellRunArgs, setup: ShellSetup): CheckedShellCall {
  const { options, roots, commands, hidden, sandbox } = setup
  const argv = args.argv
  const command = commands.get(argv[0]!) ?? [...commands.values()].find((c) => c.aliases.includes(argv[0]!))
  if (command === undefined) {
    throw denied(
      `command ${JSON.stringify(argv[0])} is not allowed; add it to the shell provider's \`commands\` option to allow it`,
      { rule: 'command', option: 'commands', value: argv[0]! },
    )
  }
  if (argv.some((a) => a.includes('\0')))
    throw new CapabilityError('INVALID_ARGUMENT', 'arguments must not contain NUL')
  const argBytes = argv.reduce((sum, a) => sum + Buffer.byteLength(a) + 1, 0)
  if (argBytes > options.maxArgBytes) {
    throw new CapabilityError(
      'LIMIT_EXCEEDED',
      `arguments are ${argBytes} bytes; the limit is ${options.maxArgBytes}`,
    )
  }
  const cwd = resolveCwd(args.cwd ?? undefined, roots)
  const overrides = checkEnv(args.env ?? undefined, options.envAllow)
  const stdin = typeof args.stdin === 'string' ? Buffer.from(args.stdin, 'utf8') : (args.stdin ?? undefined)
  if (stdin !== undefined && stdin.length > options.maxStdinBytes) {
    throw new CapabilityError(
      'LIMIT_EXCEEDED',
      `stdin is ${stdin.length} bytes; the limit is ${options.maxStdinBytes}`,
    )
  }
  if (hidden.hides(cwd, roots, 'dir')) {
    throw denied(
      `cwd ${JSON.stringify(args.cwd)} is hidden; list it in the shell provider's \`allowHidden\` option to allow it`,
      { rule: 'hidden', option: 'allowHidden', value: String(args.cwd) },
    )
  }
  const reason = checkArguments(command, argv.slice(1), { cwd, roots, hidden, sandbox: sandbox.kind })
  if (reason !== undefined) {
    throw denied(`${reason} (a rule of the ${JSON.stringify(command.name)} command's preset)`, {
      rule: 'arguments',
      option: `commands.${command.name}`,
    })
  }
  const requestedTimeoutMs = args.timeout == null ? Number.POSITIVE_INFINITY : Math.ceil(args.timeout * 1000)
  return { command, argv, cwd, overrides, stdin, requestedTimeoutMs }
}

function resolveCwd(requested: string | undefined, roots: readonly ResolvedRoot[]): string {
  const first = roots[0]!.path
  if (requested === undefined) return first
  const real = realpathLenient(requested, first)
  if (real === undefined || rootOf(real, roots) === undefined)
    throw denied(
      `cwd ${JSON.stringify(requested)} is outside the allowed roots; add a directory holding it to the shell provider's \`roots\` option`,
      { rule: 'roots', option: 'roots' },
    )
  try {
    if (!statSync(real).isDirectory()) throw new Error('not a directory')
  } catch {
    throw new CapabilityError('INVALID_ARGUMENT', `cwd ${JSON.stringify(requested)} is not a directory`)
  }
  return real
}

function checkEnv(env: Record<string, string> | undefined, allow: readonly string[]): Record<string, string> {
  if (env === undefined) return {}
  for (const [name, value] of Object.entries(env)) {
    if (!allow.includes(name)) {
      throw denied(
        `environment variable ${name} is not allowed; add it to the shell provider's \`envAllow\` option to pass it`,
        { rule: 'env', option: 'envAllow', value: name },
      )
    }
    if (value.includes('\0'))
      throw new CapabilityError('INVALID_ARGUMENT', `environment variable ${name} contains NUL`)
  }
  return { ...env }
}

function checkArguments(
  command: ResolvedCommand,
  args: readonly string[],
  ctx: Omit<PresetContext, 'subcommands'>,
): string | undefined {
  const { rule, preset } = command
  if (preset !== undefined) {
    const reason = PRESET_CHECKS[preset](args, { ...ctx, subcommands: rule.subcommands })
    if (reason !== undefined) return reason
  } else if (
    rule.subcommands !== undefined &&
    (args[0] === undefined || !rule.subcommands.includes(args[0]))
  ) {
    return `${command.name} ${args[0] ?? ''} is not an allowed subcommand`.replace('  ', ' ')
  }
  const end = args.indexOf('--')
  const optionArgs = end === -1 ? args : args.slice(0, end)
  // Custom rules apply to every command; single-dash words (-exec) are matched whole as well as letter by letter.
  const word = rule.denyFlags?.find(
    (flag) => optionArgs.includes(flag) || optionArgs.some((a) => a.startsWith(`${flag}=`)),
  )
  if (word !== undefined) return `option ${word} is not allowed`
  const reason = checkFlags(scanArgs(args).options, {
    denyFlags: rule.denyFlags,
    allowFlags: rule.allowFlags,
  })
  if (reason !== undefined) return reason
  return rule.validate?.(args.length === 0 ? [command.name] : [command.name, ...args])
}

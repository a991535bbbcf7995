import { CliError, EXIT_OK, toCliError, usageError } from './cliError.js'
import { COMMANDS, type CommandName, commandHelp } from './help.js'
import { escapeUntrusted } from './output/escapeUntrusted.js'
import { processTerminal, type Terminal } from './output/terminal.js'
import { CLI_VERSION } from './version.js'

type Handler = (args: readonly string[], terminal: Terminal) => Promise<number>

// Commands load on demand: `--help` and `--version` should not pay for Python, zod and undici.
const HANDLERS: Record<CommandName, () => Promise<Handler>> = {
  exec: async () => (await import('./commands/execCommand.js')).execCommand,
  run: async () => (await import('./commands/execCommand.js')).runCommand,
  repl: async () => (await import('./commands/replCommand.js')).replCommand,
  audit: async () => (await import('./commands/auditCommand.js')).auditCommand,
  bench: async () => (await import('./commands/benchCommand.js')).benchCommand,
  doctor: async () => (await import('./commands/doctorCommand.js')).doctorCommand,
  mcp: async () => (await import('./commands/mcpCommand.js')).mcpCommand,
}

/**
 * The `capsule` command: runs the command named by `argv[0]` and returns the exit code. Errors are
 * printed as one line on stderr (`capsule exec: --level must be one of …`); they are never thrown.
 */
export async function main(argv: readonly string[], terminal: Terminal = processTerminal()): Promise<number> {
  const [first, ...rest] = argv
  let command: CommandName | undefined
  try {
    if (first === undefined || first === '--help' || first === '-h') {
      terminal.stdout.write(commandHelp('capsule'))
      return EXIT_OK
    }
    if (first === '--version' || first === '-V') {
      terminal.stdout.write(`${CLI_VERSION}\n`)
      return EXIT_OK
    }
    if (first === 'help') {
      const topic = rest[0]
      if (topic !== undefined && !isCommand(topic)) throw usageError(`no help for ${JSON.stringify(topic)}`)
      terminal.stdout.write(commandHelp(topic ?? 'capsule'))
      return EXIT_OK
    }
    if (!isCommand(first)) {
      throw usageError(
        `${first.startsWith('-') ? 'unknown option' : 'unknown command'} ${JSON.stringify(first)} (commands: ${COMMANDS.join(', ')})`,
      )
    }
    command = first
    const handler = await HANDLERS[first]()
    return await handler(rest, terminal)
  } catch (error) {
    const failure = toCliError(error)
    const where = command ? `capsule ${command}` : 'capsule'
    const hint = failure.code === 'USAGE' ? ` (see ${where} --help)` : ''
    const prefix = failure.code === 'USAGE' || failure.code === 'CONFIG' ? '' : `${failure.code}: `
    // Messages carry untrusted text (worker output in a PROTOCOL_ERROR, file names, arguments).
    terminal.stderr.write(`${where}: ${escapeUntrusted(`${prefix}${failure.message}`)}${hint}\n`)
    if (!(error instanceof CliError) && process.env.CAPSULE_DEBUG)
      terminal.stderr.write(`${escapeUntrusted(String((error as Error).stack), { keepNewlines: true })}\n`)
    return failure.exitCode
  }
}

function isCommand(name: string): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name)
}

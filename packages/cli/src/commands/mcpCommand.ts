import { readFileSync } from 'node:fs'
import path from 'node:path'
import { Capsule } from '@capsule/core'
import { EXIT_OK, toCliError, usageError } from '../cliError.js'
import { parseCommandArgs } from '../commandArgs.js'
import { CAPSULE_FLAG_OPTIONS, readCapsuleFlags } from '../config/capsuleFlags.js'
import { resolveCapsuleOptions } from '../config/resolveCapsuleOptions.js'
import { commandHelp } from '../help.js'
import { escapeUntrusted } from '../output/escapeUntrusted.js'
import type { Terminal } from '../output/terminal.js'
import { AuditRecorder } from '../session/auditRecorder.js'

const MCP_OPTIONS = {
  ...CAPSULE_FLAG_OPTIONS,
  http: { type: 'boolean' },
  host: { type: 'string' },
  port: { type: 'string' },
  'token-file': { type: 'string' },
  'allowed-host': { type: 'string', multiple: true },
  'allowed-origin': { type: 'string', multiple: true },
  'max-sessions': { type: 'string' },
  'idle-timeout': { type: 'string' },
} as const

/** The environment variable `capsule mcp --http` reads its bearer token from. */
export const MCP_TOKEN_ENV = 'CAPSULE_MCP_TOKEN'

/**
 * `capsule mcp`: serves `run_python`, `list_capabilities` and `reset_session` to an MCP client, over stdio
 * (the default: stdout carries the protocol, messages go to stderr) or Streamable HTTP (`--http`, on
 * 127.0.0.1). The level, providers, sandbox and limits come from the same config file and flags as
 * `capsule exec`. Runs until stdin closes (stdio) or SIGINT/SIGTERM.
 */
export async function mcpCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { values } = parseCommandArgs(args, MCP_OPTIONS)
  if (values.help) {
    terminal.stdout.write(commandHelp('mcp'))
    return EXIT_OK
  }
  const flags = readCapsuleFlags(values)
  const http = values.http === true
  if (!http) {
    for (const name of ['host', 'port', 'token-file', 'allowed-host', 'allowed-origin'] as const) {
      if (values[name] !== undefined) throw usageError(`--${name} is an option of --http`)
    }
  }
  const maxSessions = wholeNumber(values['max-sessions'], '--max-sessions', 1)
  const idleSeconds = wholeNumber(values['idle-timeout'], '--idle-timeout', 0)
  const port = wholeNumber(values.port, '--port', 0)
  if (port !== undefined && port > 65_535) throw usageError(`--port must be ≤ 65535 (got ${port})`)
  const token = http ? readToken(values['token-file']) : undefined

  // Imported here: `capsule --help` should not load the MCP SDK.
  const { CapsuleMcpServer, serveCapsuleHttp, serveCapsuleStdio } = await import('@capsule/mcp')
  const resolved = await resolveCapsuleOptions(flags)
  const recorder = new AuditRecorder(flags.auditLog)
  let capsule: Capsule
  try {
    capsule = new Capsule({ ...resolved.options, onAudit: recorder.record })
  } catch (error) {
    recorder.close()
    throw toCliError(error)
  }
  const closeAll = async () => {
    await server.close()
    await capsule.close()
    recorder.close()
  }
  const server = new CapsuleMcpServer(capsule, {
    ...(maxSessions === undefined ? {} : { maxSessions }),
    ...(idleSeconds === undefined ? {} : { idleTimeoutMs: idleSeconds * 1000 }),
  })
  try {
    // Fail now, with exit code 2, when the interpreter or the sandbox cannot start (the pool warms another).
    const probe = await capsule.session()
    await probe.close()
  } catch (error) {
    await closeAll()
    throw toCliError(error)
  }
  const level = `level ${capsule.level}, sandbox ${capsule.sandboxInForce()}`
  if (!http) {
    const handle = serveCapsuleStdio(server)
    terminal.stderr.write(`capsule mcp: serving on stdio (${level})\n`)
    const stop = () => void handle.close()
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    await handle.closed
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    await closeAll()
    return EXIT_OK
  }
  let handle: Awaited<ReturnType<typeof serveCapsuleHttp>>
  try {
    handle = await serveCapsuleHttp(server, {
      ...(values.host === undefined ? {} : { host: values.host }),
      ...(port === undefined ? {} : { port }),
      ...(token === undefined ? {} : { token }),
      allowedHosts: values['allowed-host'] ?? [],
      allowedOrigins: values['allowed-origin'] ?? [],
    })
  } catch (error) {
    await closeAll()
    if (error instanceof TypeError)
      throw usageError(error.message.replace(/^serveCapsuleHttp: (options\.)?/, ''))
    throw toCliError(error)
  }
  terminal.stderr.write(
    `capsule mcp: listening on ${escapeUntrusted(handle.url)} (${level}${token ? ', bearer token required' : ''})\n`,
  )
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  await handle.close()
  await closeAll()
  return EXIT_OK
}

function wholeNumber(value: string | undefined, flag: string, min: number): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > 2 ** 31 - 1) {
    throw usageError(`${flag} must be a whole number ≥ ${min} (got ${JSON.stringify(value)})`)
  }
  return Number(value)
}

// A token on the command line would show in `ps`: it comes from a file or the environment.
function readToken(file: string | undefined): string | undefined {
  let token: string | undefined
  if (file !== undefined) {
    try {
      token = readFileSync(path.resolve(file), 'utf8').trim()
    } catch (error) {
      throw usageError(
        `--token-file ${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? error})`,
      )
    }
  } else {
    token = process.env[MCP_TOKEN_ENV]?.trim() || undefined
  }
  if (token !== undefined && token.length < 16) {
    throw usageError(
      `the MCP token must be at least 16 characters (${file ? `--token-file ${file}` : MCP_TOKEN_ENV})`,
    )
  }
  return token
}

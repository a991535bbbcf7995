import type { Readable, Writable } from 'node:stream'
import { StdioServerTransport, serveStdio } from '@modelcontextprotocol/server/stdio'
import type { CapsuleMcpServer } from './capsuleMcpServer.js'

/** The MCP session name of the one stdio connection a process serves. */
export const STDIO_SCOPE = 'stdio'

/** Options of {@link serveCapsuleStdio}. */
export interface ServeCapsuleStdioOptions {
  /** Default: `process.stdin`. */
  stdin?: Readable
  /** Default: `process.stdout`. Nothing else may write to it: it carries the protocol. */
  stdout?: Writable
  /** Out-of-band errors (a malformed line from the client). Default: ignored. */
  onerror?: (error: Error) => void
}

/** A stdio connection being served. */
export interface CapsuleStdioHandle {
  /** Resolves when the client closed stdin (or {@link close} was called) and the Python session is closed. */
  readonly closed: Promise<void>
  /** Ends the connection and closes its Python session. */
  close(): Promise<void>
}

/**
 * Serves one MCP client over stdio (either protocol era): the connection is one MCP session with one
 * persistent Python session. A line that is not JSON-RPC is reported to `onerror` and skipped; the
 * connection carries on.
 */
export function serveCapsuleStdio(
  server: CapsuleMcpServer,
  options: ServeCapsuleStdioOptions = {},
): CapsuleStdioHandle {
  const transport = new StdioServerTransport(options.stdin, options.stdout)
  let resolveClosed!: () => void
  const closed = new Promise<void>((resolve) => {
    resolveClosed = resolve
  })
  let ending: Promise<void> | undefined
  const end = () => {
    ending ??= server.endScope(STDIO_SCOPE).finally(resolveClosed)
    return ending
  }
  // One factory call per connection, plus one for a `server/discover` probe the SDK may discard: the Python
  // session is created on first use, so a discarded instance costs nothing.
  const handle = serveStdio(() => server.createServer(STDIO_SCOPE), { transport, onerror: options.onerror })
  // The connection ends when the client closes our stdin (the SDK then closes the transport).
  const stdin = options.stdin ?? process.stdin
  stdin.once('end', () => void end())
  stdin.once('close', () => void end())
  return {
    closed,
    close: async () => {
      await handle.close()
      await end()
    },
  }
}

// Closed ─open()→ Connected ─server exits→ Lost ─next call→ Connected;  any ─close()→ Closed (final)
import { CapabilityError } from '@capsule/provider-sdk'
import {
  Client,
  ProtocolError,
  SdkError,
  SdkErrorCode,
  StreamableHTTPClientTransport,
} from '@modelcontextprotocol/client'
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/client/stdio'
import { z } from 'zod'
import { MCP_PACKAGE_VERSION } from '../version.js'

/** Where the MCP server is: a command to spawn (stdio) or a Streamable HTTP URL. */
export type McpEndpoint =
  | {
      command: string
      args: string[]
      env: Record<string, string>
      cwd?: string
      stderr: 'inherit' | 'ignore'
    }
  | { url: string; headers: Record<string, string> }

/** A tool as the server listed it (only the fields the provider reads). */
export interface ListedTool {
  name: string
  title?: string
  description?: string
  inputSchema: unknown
  annotations?: Record<string, unknown>
}

/** Progress a server reported for a call. */
export interface ServerProgress {
  progress: number
  total?: number
  message?: string
}

/** Pages of a tool listing read before giving up on a server whose cursor never ends. */
const MAX_LIST_PAGES = 64

const looseToolListSchema = z.object({
  tools: z.array(z.looseObject({ name: z.string().max(1000) })),
  nextCursor: z.string().max(10_000).optional(),
})

/** Longest server error message passed on, in characters. */
const MAX_ERROR_CHARS = 500

/**
 * One MCP client connection to a server, for a provider's calls. A server that exits is reconnected
 * (respawned) by the next call; the tool list stays the one read at open.
 */
export class McpConnection {
  readonly #endpoint: McpEndpoint
  readonly #label: string
  readonly #connectTimeoutMs: number
  #client: Client | undefined
  #connecting: Promise<Client> | undefined
  #closed = false

  private constructor(endpoint: McpEndpoint, label: string, connectTimeoutMs: number) {
    this.#endpoint = endpoint
    this.#label = label
    this.#connectTimeoutMs = connectTimeoutMs
  }

  /** Connects (spawning the server for a command) and completes the MCP handshake. */
  static async open(endpoint: McpEndpoint, label: string, connectTimeoutMs: number): Promise<McpConnection> {
    const connection = new McpConnection(endpoint, label, connectTimeoutMs)
    await connection.#connected()
    return connection
  }

  /** The server's name and version as it reported them (untrusted). */
  get serverVersion(): { name: string; version: string } | undefined {
    return this.#client?.getServerVersion()
  }

  /**
   * Every tool the server lists, page by page, at most `maxTools` (more is an error: a hostile listing). The
   * listing is read loosely, so one malformed tool does not hide the others: each entry needs only a name;
   * the provider judges the rest tool by tool.
   */
  async listTools(maxTools: number): Promise<ListedTool[]> {
    const client = await this.#connected()
    const tools: ListedTool[] = []
    let cursor: string | undefined
    for (let page = 0; page < MAX_LIST_PAGES; page += 1) {
      const result = await client.request(
        { method: 'tools/list', params: cursor === undefined ? {} : { cursor } },
        looseToolListSchema,
        { timeout: this.#connectTimeoutMs },
      )
      for (const entry of result.tools) {
        tools.push(entry as unknown as ListedTool)
        if (tools.length > maxTools) {
          throw new CapabilityError(
            'LIMIT_EXCEEDED',
            `${this.#label} lists more than ${maxTools} tools (maxTools)`,
          )
        }
      }
      if (result.nextCursor === undefined || result.nextCursor === cursor) return tools
      cursor = result.nextCursor
    }
    throw new CapabilityError(
      'LIMIT_EXCEEDED',
      `${this.#label} lists tools on more than ${MAX_LIST_PAGES} pages`,
    )
  }

  /** Calls a tool; failures are CapabilityErrors (CANCELLED, TIMEOUT, UNAVAILABLE, INVALID_ARGUMENT…). */
  async callTool(
    name: string,
    args: Record<string, unknown>,
    options: { signal: AbortSignal; timeoutMs: number; onprogress: (progress: ServerProgress) => void },
  ): Promise<Record<string, unknown>> {
    try {
      const client = await this.#connected()
      options.signal.throwIfAborted()
      const result = await client.callTool(
        { name, arguments: args },
        { signal: options.signal, timeout: Math.max(1, options.timeoutMs), onprogress: options.onprogress },
      )
      return result as Record<string, unknown>
    } catch (error) {
      throw this.#callError(name, error, options.signal)
    }
  }

  /** Closes the connection (stops a spawned server). Idempotent; later calls fail UNAVAILABLE. */
  async close(): Promise<void> {
    this.#closed = true
    const client = this.#client ?? (await this.#connecting?.catch(() => undefined))
    this.#client = undefined
    await client?.close().catch(() => undefined)
  }

  #connected(): Promise<Client> {
    if (this.#closed) {
      return Promise.reject(new CapabilityError('UNAVAILABLE', `the connection to ${this.#label} is closed`))
    }
    if (this.#client) return Promise.resolve(this.#client)
    this.#connecting ??= this.#connect().finally(() => {
      this.#connecting = undefined
    })
    return this.#connecting
  }

  async #connect(): Promise<Client> {
    const client = new Client({ name: 'capsule', version: MCP_PACKAGE_VERSION })
    const endpoint = this.#endpoint
    const transport =
      'command' in endpoint
        ? new StdioClientTransport({
            command: endpoint.command,
            args: endpoint.args,
            env: { ...getDefaultEnvironment(), ...endpoint.env },
            stderr: endpoint.stderr,
            ...(endpoint.cwd === undefined ? {} : { cwd: endpoint.cwd }),
          })
        : new StreamableHTTPClientTransport(new URL(endpoint.url), {
            requestInit: { headers: endpoint.headers },
          })
    client.onclose = () => {
      if (this.#client === client) this.#client = undefined
    }
    // Errors also arrive as failed calls; a stray one (a garbage line from the server) is not fatal.
    client.onerror = () => undefined
    try {
      await client.connect(transport, { timeout: this.#connectTimeoutMs })
    } catch (error) {
      await client.close().catch(() => undefined)
      throw new CapabilityError(
        'UNAVAILABLE',
        `cannot connect to ${this.#label}: ${clip(errorMessage(error))}`,
        {
          cause: error,
        },
      )
    }
    if (this.#closed) {
      await client.close().catch(() => undefined)
      throw new CapabilityError('UNAVAILABLE', `the connection to ${this.#label} is closed`)
    }
    this.#client = client
    return client
  }

  #callError(tool: string, error: unknown, signal: AbortSignal): CapabilityError {
    if (error instanceof CapabilityError) return error
    if (signal.aborted)
      return new CapabilityError('CANCELLED', `the call to ${tool} was cancelled`, { cause: error })
    const message = clip(errorMessage(error))
    if (error instanceof SdkError) {
      if (error.code === SdkErrorCode.RequestTimeout) {
        return new CapabilityError('TIMEOUT', `${tool} did not answer in time`, { cause: error })
      }
      if (
        error.code === SdkErrorCode.ConnectionClosed ||
        error.code === SdkErrorCode.NotConnected ||
        error.code === SdkErrorCode.SendFailed
      ) {
        return new CapabilityError(
          'UNAVAILABLE',
          `${this.#label} closed the connection during the call to ${tool}`,
          {
            cause: error,
          },
        )
      }
    }
    if (error instanceof ProtocolError) {
      if (error.code === -32602) {
        return new CapabilityError('INVALID_ARGUMENT', `${tool} refused its arguments: ${message}`, {
          cause: error,
        })
      }
      if (error.code === -32601)
        return new CapabilityError('NOT_FOUND', `${tool}: ${message}`, { cause: error })
    }
    return new CapabilityError('UNAVAILABLE', `the call to ${tool} failed: ${message}`, { cause: error })
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function clip(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > MAX_ERROR_CHARS ? `${line.slice(0, MAX_ERROR_CHARS)}…` : line
}

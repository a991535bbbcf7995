import type { Capsule } from '@capsule/core'
import { McpServer } from '@modelcontextprotocol/server'
import { z } from 'zod'
import { MCP_PACKAGE_VERSION } from '../version.js'
import { registerCapsuleTools } from './capsuleTools.js'
import { CellRunner } from './cellRunner.js'
import { SessionDirectory } from './sessionDirectory.js'

/** Default cap on Python sessions one server keeps open. */
export const DEFAULT_MAX_SESSIONS = 16
/** Default idle time after which a Python session is closed: 30 minutes. */
export const DEFAULT_SESSION_IDLE_MS = 30 * 60_000
/** Default time a cell waits in input() for the client's elicitation answer: 10 minutes. */
export const DEFAULT_PAUSED_CELL_TTL_MS = 10 * 60_000

const optionsSchema = z
  .object({
    maxSessions: z.number().int().min(1).max(10_000).default(DEFAULT_MAX_SESSIONS),
    idleTimeoutMs: z.number().int().min(0).default(DEFAULT_SESSION_IDLE_MS),
    pausedCellTtlMs: z.number().int().min(1).default(DEFAULT_PAUSED_CELL_TTL_MS),
    name: z.string().min(1).max(200).default('capsule'),
  })
  .strict()

/** Options of a {@link CapsuleMcpServer}. */
export type CapsuleMcpServerOptions = z.input<typeof optionsSchema>

/**
 * Capsule as an MCP server: the `run_python`, `list_capabilities` and `reset_session` tools over a
 * Capsule's sessions, one persistent Python session per MCP session. Transports call
 * {@link createServer} for each MCP session (or each stateless request) and {@link endScope} when a
 * session ends; `serveCapsuleStdio` and `serveCapsuleHttp` do both.
 *
 * The Capsule is the caller's: it decides level, providers, sandbox and limits, and the caller closes it.
 */
export class CapsuleMcpServer {
  readonly capsule: Capsule
  readonly #options: z.output<typeof optionsSchema>
  readonly #directory: SessionDirectory
  readonly #runner: CellRunner
  #closed: Promise<void> | undefined

  constructor(capsule: Capsule, options: CapsuleMcpServerOptions = {}) {
    const parsed = optionsSchema.safeParse(options)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      throw new TypeError(`CapsuleMcpServer: options.${issue.path.join('.')} ${issue.message}`)
    }
    this.capsule = capsule
    this.#options = parsed.data
    this.#directory = new SessionDirectory(capsule, {
      maxSessions: parsed.data.maxSessions,
      idleTimeoutMs: parsed.data.idleTimeoutMs,
    })
    this.#runner = new CellRunner(capsule, this.#directory, parsed.data.pausedCellTtlMs)
  }

  /**
   * A fresh MCP server instance with the three tools, for the MCP session `scope`: calls without a
   * `session_id` share that scope's Python session.
   */
  createServer(scope: string): McpServer {
    const server = new McpServer(
      { name: this.#options.name, version: MCP_PACKAGE_VERSION },
      {
        instructions:
          'run_python runs Python in a persistent sandboxed session; list_capabilities says which functions the code may call.',
      },
    )
    registerCapsuleTools(
      server,
      { capsule: this.capsule, directory: this.#directory, runner: this.#runner },
      scope,
    )
    return server
  }

  /** Closes the Python session of an MCP session that ended. */
  endScope(scope: string): Promise<void> {
    return this.#directory.endScope(scope)
  }

  /** Python sessions open now. */
  get sessions(): number {
    return this.#directory.size
  }

  /** Interrupts paused cells and closes every Python session (not the Capsule). Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#runner.close()
      await this.#directory.close()
    })()
    return this.#closed
  }
}

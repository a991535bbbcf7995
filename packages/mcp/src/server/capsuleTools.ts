import { type Capsule, compareLevels, INPUT_CAPABILITY_ID, isCapsuleError } from '@capsule/core'
import {
  type CallToolResult,
  CLIENT_CAPABILITIES_META_KEY,
  type ClientCapabilities,
  type McpServer,
  type ServerContext,
} from '@modelcontextprotocol/server'
import type { CellRunner } from './cellRunner.js'
import type { SessionDirectory } from './sessionDirectory.js'
import {
  listCapabilitiesOutputSchema,
  resetSessionOutputSchema,
  runPythonInputSchema,
  runPythonOutputSchema,
  sessionInputSchema,
} from './toolSchemas.js'

/** What the three tools are built on. */
export interface CapsuleToolDeps {
  capsule: Capsule
  directory: SessionDirectory
  runner: CellRunner
}

/**
 * Registers `run_python`, `list_capabilities` and `reset_session` on `server`, for the MCP session `scope`
 * (whose default Python session a call without `session_id` uses).
 */
export function registerCapsuleTools(server: McpServer, deps: CapsuleToolDeps, scope: string): void {
  const { capsule, directory, runner } = deps
  // What the code can reach decides the honest hints: at a level that grants nothing beyond input(),
  // a cell changes nothing outside its own namespace.
  const reachesOut = capsule
    .capabilities()
    .some(
      (capability) =>
        capability.id !== INPUT_CAPABILITY_ID && compareLevels(capability.level, capsule.level) <= 0,
    )

  server.registerTool(
    'run_python',
    {
      title: 'Run Python',
      description:
        `Run Python code in a persistent ${capsule.sandboxInForce() === 'bwrap' ? 'sandboxed' : 'isolated'} session: variables, imports and functions stay defined for the next call. ` +
        'The value of the last expression is returned with stdout, stderr and display() outputs (images as image content). ' +
        'Top-level await works. The functions listed by list_capabilities are already defined as globals.',
      inputSchema: runPythonInputSchema,
      outputSchema: runPythonOutputSchema,
      annotations: {
        readOnlyHint: false,
        destructiveHint: reachesOut,
        idempotentHint: false,
        openWorldHint: reachesOut,
      },
    },
    (args, ctx) => guarded(() => runner.run(args, { scope, canElicit: clientCanElicit(server, ctx), ctx })),
  )

  server.registerTool(
    'list_capabilities',
    {
      title: 'List Python capabilities',
      description:
        'List the functions the Python code may call in its session (file access, HTTP, other tools…), with their signatures and documentation.',
      inputSchema: sessionInputSchema,
      outputSchema: listCapabilitiesOutputSchema,
      annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      guarded(async (): Promise<CallToolResult> => {
        const session = await directory.resolve(scope, args.session_id)
        const info = session.info()
        const granted = new Set(info.capabilities)
        const capabilities = capsule
          .capabilities()
          .filter((capability) => granted.has(capability.id))
          .map(({ python, id, signature, description, level }) => ({
            python,
            id,
            signature,
            description,
            level,
          }))
        const structured = { session_id: session.id, level: info.level, sandbox: info.sandbox, capabilities }
        const lines = capabilities.map(
          (capability) => `${capability.signature}\n    ${capability.description}`,
        )
        const text =
          lines.length > 0
            ? `Python functions available (level ${info.level}, sandbox ${info.sandbox}):\n${lines.join('\n')}`
            : `No capabilities are granted at level ${info.level}: the code can compute, print and display only.`
        return { content: [{ type: 'text', text }], structuredContent: structured }
      }),
  )

  server.registerTool(
    'reset_session',
    {
      title: 'Reset Python session',
      description:
        'Restart the Python session with an empty namespace (every variable and import is lost). Use when the session is stuck or its state is wrong.',
      inputSchema: sessionInputSchema,
      outputSchema: resetSessionOutputSchema,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    (args) =>
      guarded(async (): Promise<CallToolResult> => {
        const session = await directory.resolve(scope, args.session_id)
        await session.restart()
        return {
          content: [{ type: 'text', text: `Session ${session.id} restarted: the namespace is empty.` }],
          structuredContent: { session_id: session.id, reset: true },
        }
      }),
  )
}

// A failure of the host (no session slot, a sandbox that cannot start) is a tool error with its code.
async function guarded<R>(work: () => Promise<R>): Promise<R | CallToolResult> {
  try {
    return await work()
  } catch (error) {
    if (!isCapsuleError(error)) throw error
    return {
      content: [{ type: 'text', text: error.message }],
      isError: true,
      _meta: { 'capsule/error_code': error.code },
    }
  }
}

// Form elicitation is declared as `elicitation: {}` (2025-06) or `elicitation: { form: {} }`; a client that
// declares only URL mode cannot type an answer.
function clientCanElicit(server: McpServer, ctx: ServerContext): boolean {
  const envelope = ctx.mcpReq.envelope as Record<string, unknown> | undefined
  const declared = (envelope?.[CLIENT_CAPABILITIES_META_KEY] ?? server.server.getClientCapabilities()) as
    | ClientCapabilities
    | undefined
  const elicitation = declared?.elicitation as Record<string, unknown> | undefined
  if (!elicitation) return false
  return Object.keys(elicitation).length === 0 || 'form' in elicitation
}

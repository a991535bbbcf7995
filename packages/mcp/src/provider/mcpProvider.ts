import {
  type AnyCapabilityDefinition,
  CapabilityError,
  type CapabilityProgress,
  defineCapability,
  defineProvider,
  type ProviderDefinition,
  parseProviderOptions,
  SEMVER_PATTERN,
} from '@capsule/provider-sdk'
import { z } from 'zod'
import { type ListedTool, McpConnection, type McpEndpoint, type ServerProgress } from './mcpConnection.js'
import { type McpProviderOptions, mcpProviderOptionsSchema } from './mcpProviderOptions.js'
import { type McpToolAnnotations, pessimisticAnnotations, toolLevel } from './toolLevel.js'
import { capabilityName } from './toolNames.js'
import { toolResultValue } from './toolResultValue.js'
import { ToolSchemaError, toolInputSchema } from './toolSchema.js'

/** Longest docstring taken from a tool's description, in characters. */
export const MAX_DESCRIPTION_CHARS = 4000

/** A tool the provider left out, and why. */
export interface SkippedTool {
  /** The tool's name as the server sent it (clipped to 200 characters). */
  tool: string
  reason: string
}

/** The provider `mcpProvider` returns: a ProviderDefinition, plus what it left out. */
export interface McpProviderDefinition extends ProviderDefinition {
  /** Tools that did not become capabilities (bad names, hostile schemas, disabled by the host). */
  readonly skipped: readonly SkippedTool[]
  /** The server's name and version as it reported them (untrusted). */
  readonly server: { name: string; version: string } | undefined
}

/**
 * Connects to an MCP server as a client and turns each of its tools into a capability, so Python can
 * call them as typed functions under the Capsule's policy and audit ("code mode"). Arguments come from
 * the tool's JSON Schema (zod's own conversion, bounded), the Python name is `<pythonPrefix><tool>` in
 * snake case, the docstring the tool's description. Each tool's level is the host's `level`, raised to
 * `trusted` when its annotations say (or, absent, the MCP defaults imply) destructive or open-world;
 * `tools[name].level` overrides. Results become Python values (structured content, text, images as bytes);
 * a tool error raises CapabilityError.
 *
 * The tool list is read once, now: the returned definition is fixed, as providers are. Tools that cannot
 * be offered safely are listed in `skipped` with the reason. `dispose()` (called by `capsule.close()`)
 * closes the connection. Throws ProviderDefinitionError for bad options, CapabilityError UNAVAILABLE when
 * the server cannot be reached.
 *
 * ```ts
 * const github = await mcpProvider({ name: 'github', command: 'npx', args: ['-y', '@modelcontextprotocol/server-github'] })
 * const capsule = new Capsule({ level: 'trusted', providers: [github] })
 * ```
 */
export async function mcpProvider(options: McpProviderOptions): Promise<McpProviderDefinition> {
  const settings = parseProviderOptions('mcpProvider', mcpProviderOptionsSchema, options, {
    expected: 'must be an object like { name: "github", command: "npx", args: [...] }',
    secretKeys: ['headers', 'env'],
  })
  const endpoint: McpEndpoint =
    settings.command !== undefined
      ? {
          command: settings.command,
          args: settings.args,
          env: settings.env,
          stderr: settings.stderr,
          ...(settings.cwd === undefined ? {} : { cwd: settings.cwd }),
        }
      : { url: settings.url!, headers: settings.headers }
  const label = `the MCP server ${settings.name}`
  const connection = await McpConnection.open(endpoint, label, settings.connectTimeoutMs)
  let tools: ListedTool[]
  try {
    tools = await connection.listTools(settings.maxTools)
  } catch (error) {
    await connection.close()
    throw error
  }
  const prefix = settings.pythonPrefix ?? `${settings.name}_`
  const skipped: SkippedTool[] = []
  const capabilities: AnyCapabilityDefinition[] = []
  const takenNames = new Set<string>()
  const takenPython = new Set<string>()
  for (const tool of tools) {
    const shownName = String(tool.name).slice(0, 200)
    const skip = (reason: string) => skipped.push({ tool: shownName, reason })
    const override = typeof tool.name === 'string' ? settings.tools[tool.name] : undefined
    if (override?.enabled === false) {
      skip('disabled by the host (tools[name].enabled: false)')
      continue
    }
    const name = typeof tool.name === 'string' ? capabilityName(tool.name) : undefined
    if (name === undefined) {
      skip('its name has no letters or digits to make a Python name from')
      continue
    }
    if (takenNames.has(name)) {
      skip(`its name becomes ${name}, which an earlier tool already has`)
      continue
    }
    const python = override?.python ?? `${prefix}${name}`
    if (takenPython.has(python) || python.startsWith('__')) {
      skip(`its Python name ${python} is taken or reserved; set tools[name].python`)
      continue
    }
    let input: ReturnType<typeof toolInputSchema>
    try {
      input = toolInputSchema(tool.inputSchema, {
        maxBytes: settings.maxSchemaBytes,
        maxDepth: 32,
        maxParams: 64,
      })
    } catch (error) {
      if (!(error instanceof ToolSchemaError)) throw error
      skip(error.message)
      continue
    }
    const hints = annotationHints(tool.annotations)
    const pythonSecretArgs = (override?.secretArgs ?? []).flatMap((argument) =>
      [...input.argumentNames]
        .filter(([, original]) => original === argument)
        .map(([pythonName]) => pythonName),
    )
    try {
      capabilities.push(
        defineCapability({
          name,
          python,
          level: toolLevel(settings.level, hints, override?.level),
          description: describe(tool, label),
          input: input.schema,
          output: z.unknown(),
          annotations: pessimisticAnnotations(hints),
          ...(pythonSecretArgs.length > 0 ? { secretArgs: pythonSecretArgs } : {}),
          ...(override?.timeoutMs === undefined ? {} : { timeoutMs: override.timeoutMs }),
          async handler(args, ctx) {
            const toolArgs: Record<string, unknown> = {}
            for (const [pythonName, value] of Object.entries(args)) {
              if (value !== undefined) toolArgs[input.argumentNames.get(pythonName) ?? pythonName] = value
            }
            const reporter = progressReporter(ctx.progress.bind(ctx))
            const result = await connection.callTool(tool.name, toolArgs, {
              signal: ctx.signal,
              timeoutMs: ctx.deadline - Date.now(),
              onprogress: reporter,
            })
            assertResultSize(tool.name, result, settings.maxResultBytes)
            return toolResultValue(tool.name, result)
          },
        }),
      )
    } catch (error) {
      skip(error instanceof Error ? error.message : String(error))
      continue
    }
    takenNames.add(name)
    takenPython.add(python)
  }
  const reported = connection.serverVersion
  return defineProvider({
    name: settings.name,
    version: reported && SEMVER_PATTERN.test(reported.version) ? reported.version : '0.0.0',
    description: `MCP tools of ${reported?.name ?? settings.name}`,
    capabilities,
    skipped,
    server: reported,
    dispose: () => connection.close(),
  })
}

function annotationHints(annotations: Record<string, unknown> | undefined): McpToolAnnotations | undefined {
  if (typeof annotations !== 'object' || annotations === null) return undefined
  const hints: McpToolAnnotations = {}
  for (const key of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) {
    if (typeof annotations[key] === 'boolean') hints[key] = annotations[key]
  }
  return hints
}

function describe(tool: ListedTool, label: string): string {
  const text = [tool.description, tool.title].find(
    (value) => typeof value === 'string' && value.trim() !== '',
  )
  const description = text?.trim() ?? `The ${String(tool.name)} tool of ${label}.`
  return description.length > MAX_DESCRIPTION_CHARS
    ? `${description.slice(0, MAX_DESCRIPTION_CHARS)}…`
    : description
}

// A server's progress is untrusted: only finite, non-decreasing numbers within their total reach the host.
function progressReporter(report: (update: CapabilityProgress) => void): (progress: ServerProgress) => void {
  let last = 0
  return (progress) => {
    if (
      typeof progress.progress !== 'number' ||
      !Number.isFinite(progress.progress) ||
      progress.progress < last
    )
      return
    last = progress.progress
    const update: CapabilityProgress = { done: progress.progress }
    if (
      typeof progress.total === 'number' &&
      Number.isFinite(progress.total) &&
      progress.total >= progress.progress
    ) {
      update.total = progress.total
    }
    if (typeof progress.message === 'string') update.message = progress.message.slice(0, 1000)
    report(update)
  }
}

function assertResultSize(tool: string, result: Record<string, unknown>, maxBytes: number): void {
  const bytes = Buffer.byteLength(JSON.stringify(result) ?? '')
  if (bytes > maxBytes) {
    throw new CapabilityError(
      'LIMIT_EXCEEDED',
      `the result of ${tool} is ${bytes} bytes (maxResultBytes ${maxBytes})`,
      {
        details: { bytes, maxResultBytes: maxBytes },
      },
    )
  }
}

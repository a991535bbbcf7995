import { CAPABILITY_NAME_PATTERN, SECURITY_LEVELS } from '@capsule/provider-sdk'
import { z } from 'zod'

const level = z.enum(SECURITY_LEVELS)

/** What the host decides for one tool, keyed by the tool's MCP name. */
export const mcpToolOverrideSchema = z
  .object({
    /** The level that grants this tool, replacing the one derived from its annotations. */
    level: level.optional(),
    /** The Python name, replacing `<pythonPrefix><tool>`. */
    python: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a Python identifier')
      .optional(),
    /** `false` leaves the tool out. */
    enabled: z.boolean().optional(),
    /** Argument names (the tool's own) the audit log must never record. */
    secretArgs: z.array(z.string()).optional(),
    /** Overrides the host's `callTimeoutMs` for this tool. */
    timeoutMs: z.number().int().min(1).optional(),
  })
  .strict()

/** The options of `mcpProvider`. */
export const mcpProviderOptionsSchema = z
  .object({
    /** The provider name: capability ids are `<name>.<tool>`. */
    name: z.string().regex(CAPABILITY_NAME_PATTERN, 'must be a lowercase identifier like github'),
    /** The server to spawn (stdio). Give `command` or `url`. */
    command: z.string().min(1).optional(),
    args: z.array(z.string()).default([]),
    /** Extra environment of the spawned server (on top of a safe default: PATH, HOME…). */
    env: z.record(z.string(), z.string()).default({}),
    cwd: z.string().optional(),
    /** The spawned server's stderr: passed through (default) or dropped. */
    stderr: z.enum(['inherit', 'ignore']).default('inherit'),
    /** A Streamable HTTP server. Give `command` or `url`. */
    url: z.url({ protocol: /^https?$/ }).optional(),
    /** Headers of every HTTP request (e.g. `Authorization`). */
    headers: z.record(z.string(), z.string()).default({}),
    /** The level the host assigns this server's tools; annotations may raise it, never lower it. */
    level: level.default('standard'),
    /** Prefix of the Python names (default `<name>_`; `''` for bare tool names). */
    pythonPrefix: z
      .string()
      .regex(/^([A-Za-z_][A-Za-z0-9_]*)?$/, 'must be empty or start a Python identifier')
      .optional(),
    /** Per-tool decisions, keyed by the tool's MCP name. */
    tools: z.record(z.string(), mcpToolOverrideSchema).default({}),
    /** Handshake and tool listing deadline. */
    connectTimeoutMs: z.number().int().min(1).default(30_000),
    /** A server listing more tools than this is refused. */
    maxTools: z.number().int().min(1).max(10_000).default(256),
    /** Largest input schema of a tool, as JSON; larger ones are skipped. */
    maxSchemaBytes: z
      .number()
      .int()
      .min(64)
      .default(64 * 1024),
    /** Largest tool result, as JSON; larger ones fail with LIMIT_EXCEEDED. */
    maxResultBytes: z
      .number()
      .int()
      .min(1)
      .default(8 * 1024 * 1024),
  })
  .strict()
  .refine((options) => (options.command === undefined) !== (options.url === undefined), {
    message: 'give exactly one of command (a server to spawn) and url (a Streamable HTTP server)',
  })

/** Options of `mcpProvider`. */
export type McpProviderOptions = z.input<typeof mcpProviderOptionsSchema>
/** Per-tool overrides in {@link McpProviderOptions}. */
export type McpToolOverride = z.input<typeof mcpToolOverrideSchema>

import { z } from 'zod'

/** Longest cell `run_python` accepts, in characters. */
export const MAX_CODE_CHARS = 1_000_000

/** Session ids are the ones this server hands out (`ses_` and hex); anything else is refused before a lookup. */
const SESSION_ID = z
  .string()
  .regex(/^(ses_[0-9a-f]{4,64}|new)$/, 'session_id must be an id returned by run_python (ses_…), or "new"')

/** Arguments of `run_python`. */
export const runPythonInputSchema = z.object({
  code: z
    .string()
    .max(MAX_CODE_CHARS)
    .describe('Python source to run; the value of the last expression is returned'),
  session_id: SESSION_ID.optional().describe(
    'Run in this session (an id returned by an earlier call), or "new" for a fresh one. Default: the MCP session’s own Python session',
  ),
  timeout_seconds: z
    .number()
    .positive()
    .max(86_400)
    .optional()
    .describe('Wall-time limit of this cell (default: the server’s executeTimeoutMs)'),
})

/** Arguments of `list_capabilities` and `reset_session`. */
export const sessionInputSchema = z.object({
  session_id: SESSION_ID.optional().describe('The session (default: the MCP session’s own Python session)'),
})

const pythonErrorSchema = z.object({ ename: z.string(), evalue: z.string(), traceback: z.array(z.string()) })

/** One `display()` output as `run_python` reports it; images also come back as image content. */
export const displaySummarySchema = z.object({
  mime_types: z.array(z.string()),
  text: z.string().optional().describe('its text/plain form'),
  image: z.number().int().optional().describe('index of its image among the result’s image content'),
})

/** The structured content of a `run_python` result. */
export const runPythonOutputSchema = z.object({
  session_id: z.string(),
  status: z.enum(['ok', 'error', 'interrupted', 'timeout']),
  execution_count: z.number().int(),
  value: z.record(z.string(), z.unknown()).nullable().describe('mime bundle of the last expression'),
  stdout: z.string(),
  stderr: z.string(),
  displays: z.array(displaySummarySchema),
  error: pythonErrorSchema.nullable(),
  capability_calls: z.array(z.object({ capability: z.string(), args: z.unknown() })),
  duration_ms: z.number(),
  state_lost: z.boolean(),
  output_truncated_bytes: z.number().int(),
})

/** A `run_python` result's structured content. */
export type RunPythonOutput = z.infer<typeof runPythonOutputSchema>

/** The structured content of `list_capabilities`. */
export const listCapabilitiesOutputSchema = z.object({
  session_id: z.string(),
  level: z.string(),
  sandbox: z.string(),
  capabilities: z.array(
    z.object({
      python: z.string(),
      id: z.string(),
      signature: z.string(),
      description: z.string(),
      level: z.string(),
    }),
  ),
})

/** The structured content of `reset_session`. */
export const resetSessionOutputSchema = z.object({ session_id: z.string(), reset: z.boolean() })

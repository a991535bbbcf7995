import type { DisplayOutput, ExecutionResult } from '@capsule/core'
import type { CallToolResult } from '@modelcontextprotocol/server'
import type { RunPythonOutput } from './toolSchemas.js'

/** Image mime types a display may carry that MCP clients render as image content. */
const IMAGE_MIME_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const

/** A capability call the cell made, as `run_python` reports it (arguments redacted like the audit). */
export interface CapabilityCallSummary {
  capability: string
  args: unknown
}

type ContentBlock = CallToolResult['content'][number]

/**
 * The MCP result of one cell: structured content with everything the execution produced, a text block a
 * model can read without parsing, and each displayed image as image content. A Python exception, a timeout
 * or an interrupt is a tool error (`isError`), so a model sees that the code failed.
 */
export function executionToolResult(
  sessionId: string,
  result: ExecutionResult,
  calls: readonly CapabilityCallSummary[],
): CallToolResult {
  const images: ContentBlock[] = []
  const displays = result.displays.map((display) => summarizeDisplay(display, images))
  const structured: RunPythonOutput = {
    session_id: sessionId,
    status: result.status,
    execution_count: result.executionCount,
    value: result.value,
    stdout: result.stdout,
    stderr: result.stderr,
    displays,
    error: result.error,
    capability_calls: [...calls],
    duration_ms: result.durationMs,
    state_lost: result.stateLost,
    output_truncated_bytes: result.outputTruncatedBytes,
  }
  return {
    content: [{ type: 'text', text: describeExecution(structured, result) }, ...images],
    structuredContent: structured,
    isError: result.status !== 'ok',
  }
}

function summarizeDisplay(
  display: DisplayOutput,
  images: ContentBlock[],
): RunPythonOutput['displays'][number] {
  const summary: RunPythonOutput['displays'][number] = { mime_types: Object.keys(display.data) }
  const text = display.data['text/plain']
  if (typeof text === 'string') summary.text = text
  for (const mimeType of IMAGE_MIME_TYPES) {
    const data = imageData(display.data[mimeType])
    if (data === undefined) continue
    summary.image = images.length
    images.push({ type: 'image', data, mimeType })
    break
  }
  return summary
}

// Python's display() sends images as bytes (or base64 text, as Jupyter bundles do).
function imageData(value: unknown): string | undefined {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  if (typeof value === 'string' && /^[A-Za-z0-9+/\r\n]+={0,2}\s*$/.test(value))
    return value.replace(/\s+/g, '')
  return undefined
}

// The text a model reads first: what the cell printed, what it returned, and why it failed.
function describeExecution(output: RunPythonOutput, result: ExecutionResult): string {
  const parts: string[] = []
  if (output.stdout) parts.push(output.stdout.replace(/\n$/, ''))
  if (output.stderr) parts.push(`[stderr]\n${output.stderr.replace(/\n$/, '')}`)
  const repr = output.value?.['text/plain']
  if (typeof repr === 'string') parts.push(repr)
  if (output.displays.length > 0) parts.push(`[${output.displays.length} display output(s)]`)
  if (output.error) {
    parts.push([...output.error.traceback, `${output.error.ename}: ${output.error.evalue}`].join('\n'))
  } else if (output.status === 'timeout') {
    parts.push(`[timeout: ${result.details?.limit ?? 'deadline'} passed]`)
  } else if (output.status === 'interrupted') {
    parts.push('[interrupted]')
  }
  if (output.state_lost) parts.push('[the worker was restarted: the namespace is gone]')
  return parts.length > 0 ? parts.join('\n') : `[${output.status}: no output]`
}

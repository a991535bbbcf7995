import { CapabilityError } from '@capsule/provider-sdk'

/** Longest tool error text passed on to Python, in characters. */
export const MAX_TOOL_ERROR_CHARS = 2000

type Block = Record<string, unknown>

/**
 * The Python value of a tool result. Structured content, when the tool sent some, is the value (a dict).
 * Otherwise the content blocks: one text block is a `str`; none is `None`; several are a list in which
 * text is a `str` and images, audio and resources are dicts with their bytes (`{"type": "image",
 * "mime_type": "image/png", "data": b"…"}`). A result flagged `isError` raises CapabilityError with the
 * tool's text.
 */
export function toolResultValue(toolName: string, result: Record<string, unknown>): unknown {
  const content = Array.isArray(result.content) ? (result.content as unknown[]) : []
  if (result.isError === true) {
    const text = content
      .map((block) =>
        isBlock(block) && block.type === 'text' && typeof block.text === 'string' ? block.text : '',
      )
      .filter((text) => text !== '')
      .join('\n')
    const clipped = text.length > MAX_TOOL_ERROR_CHARS ? `${text.slice(0, MAX_TOOL_ERROR_CHARS)}…` : text
    throw new CapabilityError('INTERNAL', `the tool ${toolName} failed${clipped ? `: ${clipped}` : ''}`, {
      details: { tool: toolName, toolError: true },
    })
  }
  const structured = result.structuredContent
  if (typeof structured === 'object' && structured !== null) return structured
  const values = content.filter(isBlock).map(blockValue)
  if (values.length === 0) return null
  if (values.length === 1 && typeof values[0] === 'string') return values[0]
  return values
}

function blockValue(block: Block): unknown {
  switch (block.type) {
    case 'text':
      return typeof block.text === 'string' ? block.text : ''
    case 'image':
    case 'audio':
      return { type: block.type, mime_type: text(block.mimeType), data: base64Bytes(block.data) }
    case 'resource': {
      const resource = isBlock(block.resource) ? block.resource : {}
      const value: Record<string, unknown> = {
        type: 'resource',
        uri: text(resource.uri),
        mime_type: text(resource.mimeType),
      }
      if (typeof resource.text === 'string') value.text = resource.text
      if (typeof resource.blob === 'string') value.data = base64Bytes(resource.blob)
      return value
    }
    case 'resource_link':
      return {
        type: 'resource_link',
        uri: text(block.uri),
        name: text(block.name),
        mime_type: text(block.mimeType),
        description: text(block.description),
      }
    default:
      // A block type this version does not know: pass its JSON through rather than drop it.
      return block
  }
}

function base64Bytes(value: unknown): Uint8Array {
  return typeof value === 'string' ? new Uint8Array(Buffer.from(value, 'base64')) : new Uint8Array()
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null
}

function isBlock(value: unknown): value is Block {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

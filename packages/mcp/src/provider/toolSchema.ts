import { z } from 'zod'

/** Bounds on a tool's input schema; a schema past any of them makes the tool skipped. */
export interface SchemaBounds {
  /** Size of the schema as JSON, in bytes. */
  maxBytes: number
  /** Nesting depth of objects and arrays. */
  maxDepth: number
  /** Parameters (top-level properties). */
  maxParams: number
}

/** Default {@link SchemaBounds}: 64 KiB, depth 32, 64 parameters. */
export const DEFAULT_SCHEMA_BOUNDS: SchemaBounds = { maxBytes: 64 * 1024, maxDepth: 32, maxParams: 64 }

const PYTHON_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case type'.split(
    ' ',
  ),
)

/** A tool's input as a capability sees it: the zod object, and each Python parameter's argument name. */
export interface ToolInput {
  schema: z.ZodObject
  /** Python parameter name → the tool's own argument name. */
  argumentNames: Map<string, string>
}

/** Why a tool's schema cannot become a capability (the tool is skipped with this reason). */
export class ToolSchemaError extends Error {
  override readonly name = 'ToolSchemaError'
}

/**
 * Turns an MCP tool's `inputSchema` (JSON Schema from an untrusted server) into a zod object whose keys are
 * Python parameter names. The schema is measured before anything walks it; each property converts with
 * zod's own `z.fromJSONSchema` (local `$defs` kept, so recursive types work), and a property zod cannot
 * express accepts any JSON value (the server still validates its own arguments). Argument names that are
 * not Python identifiers are rewritten (`file-path` → `file_path`, `class` → `class_`).
 */
export function toolInputSchema(
  inputSchema: unknown,
  bounds: SchemaBounds = DEFAULT_SCHEMA_BOUNDS,
): ToolInput {
  measure(inputSchema, bounds)
  const root = inputSchema as Record<string, unknown>
  if (root.type !== 'object') throw new ToolSchemaError('its input schema is not an object schema')
  const properties = isRecord(root.properties) ? root.properties : {}
  const names = Object.keys(properties)
  if (names.length > bounds.maxParams) {
    throw new ToolSchemaError(`its input schema has ${names.length} parameters (limit ${bounds.maxParams})`)
  }
  const required = new Set(
    Array.isArray(root.required) ? root.required.filter((n) => typeof n === 'string') : [],
  )
  const definitions = pick(root, ['$defs', 'definitions'])
  const shape: Record<string, z.ZodType> = {}
  const argumentNames = new Map<string, string>()
  for (const name of names) {
    const pythonName = pythonParameterName(name)
    if (argumentNames.has(pythonName)) {
      throw new ToolSchemaError(
        `its arguments ${JSON.stringify(argumentNames.get(pythonName))} and ${JSON.stringify(name)} both become the Python parameter ${pythonName}`,
      )
    }
    argumentNames.set(pythonName, name)
    const property = convertProperty(properties[name], definitions)
    shape[pythonName] = required.has(name) ? property : property.optional()
  }
  return { schema: z.object(shape), argumentNames }
}

/** A Python identifier for an argument name: other characters become `_`, keywords get a trailing `_`. */
export function pythonParameterName(name: string): string {
  let out = name.replace(/[^A-Za-z0-9_]/g, '_')
  if (out === '' || /^[0-9]/.test(out)) out = `_${out}`
  if (PYTHON_KEYWORDS.has(out)) out = `${out}_`
  return out
}

function convertProperty(schema: unknown, definitions: Record<string, unknown>): z.ZodType {
  const description =
    isRecord(schema) && typeof schema.description === 'string' ? schema.description : undefined
  const fallback = description === undefined ? z.unknown() : z.unknown().describe(description)
  if (typeof schema === 'boolean') return fallback
  if (!isRecord(schema)) return fallback
  try {
    const converted = z.fromJSONSchema({ ...definitions, ...schema } as never)
    // The registry derives the Python signature with toJSONSchema: a conversion it cannot print back is
    // no better than none.
    z.toJSONSchema(converted, { io: 'input', unrepresentable: 'any' })
    return converted
  } catch {
    return fallback
  }
}

// Size and depth are checked on the raw value before any conversion walks it; a cyclic object (possible
// only from a hostile in-process caller, never from JSON) fails the size check.
function measure(schema: unknown, bounds: SchemaBounds): void {
  let text: string
  try {
    text = JSON.stringify(schema) ?? ''
  } catch {
    throw new ToolSchemaError('its input schema is not plain JSON')
  }
  const bytes = Buffer.byteLength(text)
  if (bytes > bounds.maxBytes) {
    throw new ToolSchemaError(`its input schema is ${bytes} bytes (limit ${bounds.maxBytes})`)
  }
  if (!isRecord(schema)) throw new ToolSchemaError('its input schema is not an object')
  const depth = nestingDepth(schema, bounds.maxDepth + 1)
  if (depth > bounds.maxDepth) {
    throw new ToolSchemaError(`its input schema nests deeper than ${bounds.maxDepth} levels`)
  }
}

function nestingDepth(value: unknown, stopAt: number): number {
  if (typeof value !== 'object' || value === null) return 0
  let deepest = 0
  for (const child of Object.values(value)) {
    if (deepest + 1 >= stopAt) break
    deepest = Math.max(deepest, nestingDepth(child, stopAt - 1))
  }
  return deepest + 1
}

function pick(record: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of keys) if (record[key] !== undefined) out[key] = record[key]
  return out
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

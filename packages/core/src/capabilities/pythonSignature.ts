import { type AnyCapabilityDefinition, BINARY_FORMAT } from '@capsule/provider-sdk'
import { z } from 'zod'
import { CapsuleError } from '../errors.js'
import type { CapabilitySpec, PythonParam } from '../protocol/messages.js'

/** Python keywords and soft keywords that cannot name a parameter or a function. */
const PYTHON_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(
    ' ',
  ),
)

const PYTHON_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Whether `name` can be a Python function or parameter name. */
export function isPythonIdentifier(name: string): boolean {
  return PYTHON_IDENTIFIER.test(name) && !PYTHON_KEYWORDS.has(name)
}

type JsonSchema = {
  type?: string | string[]
  format?: string
  description?: string
  default?: unknown
  enum?: unknown[]
  const?: unknown
  items?: JsonSchema
  anyOf?: JsonSchema[]
  oneOf?: JsonSchema[]
  properties?: Record<string, JsonSchema>
  required?: string[]
}

/** Converts a zod schema to JSON Schema as the registry sees it (binary values marked). */
export function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  return z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema
}

/**
 * Derives the Python stub of a capability from its schemas: parameters in declaration order
 * (keyword-only once a required one follows an optional one), annotations, defaults, and a docstring.
 * Throws INVALID_PROVIDER when the input schema cannot become a Python signature.
 */
export function toCapabilitySpec(
  id: string,
  pythonName: string,
  definition: AnyCapabilityDefinition,
): CapabilitySpec {
  let input: JsonSchema
  let output: JsonSchema
  try {
    input = toJsonSchema(definition.input, 'input')
    output = toJsonSchema(definition.output, 'output')
  } catch (cause) {
    throw new CapsuleError(
      'INVALID_PROVIDER',
      `${id}: its schemas cannot be converted to JSON Schema: ${(cause as Error).message}`,
      {
        cause,
      },
    )
  }
  if (input.type !== 'object' || !input.properties) {
    throw new CapsuleError(
      'INVALID_PROVIDER',
      `${id}: input must be an object schema to become a Python signature`,
    )
  }
  const required = new Set(input.required ?? [])
  const params: PythonParam[] = []
  let sawOptional = false
  for (const [name, property] of Object.entries(input.properties)) {
    if (!isPythonIdentifier(name)) {
      throw new CapsuleError(
        'INVALID_PROVIDER',
        `${id}: argument ${JSON.stringify(name)} is not a valid Python parameter name`,
      )
    }
    const isRequired = required.has(name) && property.default === undefined
    const param: PythonParam = {
      name,
      kind: isRequired && sawOptional ? 'keyword_only' : 'positional_or_keyword',
      required: isRequired,
      annotation: annotationOf(property),
    }
    if (!isRequired) {
      sawOptional = true
      param.default = property.default === undefined ? null : property.default
    }
    params.push(param)
  }
  // Python forbids a positional parameter without default after one with a default: once a required
  // parameter follows an optional one, it and every later one are keyword-only.
  let keywordOnly = false
  for (const param of params) {
    if (param.kind === 'keyword_only') keywordOnly = true
    if (keywordOnly) param.kind = 'keyword_only'
  }
  const returns = annotationOf(output)
  const spec: CapabilitySpec = {
    id,
    name: pythonName,
    doc: docstring(id, definition, params, input, returns),
    params,
    returns,
  }
  if (definition.pythonResult) spec.wrap = definition.pythonResult
  return spec
}

function annotationOf(schema: JsonSchema): string {
  const variants = schema.anyOf ?? schema.oneOf
  if (variants) return unique(variants.map(annotationOf)).join(' | ')
  if (schema.const !== undefined) return `Literal[${pythonLiteral(schema.const)}]`
  if (schema.enum) return `Literal[${schema.enum.map(pythonLiteral).join(', ')}]`
  if (schema.format === BINARY_FORMAT) return 'bytes'
  if (Array.isArray(schema.type))
    return unique(schema.type.map((type) => annotationOf({ ...schema, type }))).join(' | ')
  switch (schema.type) {
    case 'string':
      return 'str'
    case 'integer':
      return 'int'
    case 'number':
      return 'float'
    case 'boolean':
      return 'bool'
    case 'null':
      return 'None'
    case 'array':
      return schema.items ? `list[${annotationOf(schema.items)}]` : 'list'
    case 'object':
      return 'dict'
    default:
      return 'Any'
  }
}

function unique(values: string[]): string[] {
  return [...new Set(values)]
}

/** A JSON value written as Python source. */
export function pythonLiteral(value: unknown): string {
  if (value === null || value === undefined) return 'None'
  if (value === true) return 'True'
  if (value === false) return 'False'
  if (typeof value === 'string')
    return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`
  if (Array.isArray(value)) return `[${value.map(pythonLiteral).join(', ')}]`
  if (typeof value === 'object') {
    return `{${Object.entries(value)
      .map(([k, v]) => `${pythonLiteral(k)}: ${pythonLiteral(v)}`)
      .join(', ')}}`
  }
  return String(value)
}

function docstring(
  id: string,
  definition: AnyCapabilityDefinition,
  params: PythonParam[],
  input: JsonSchema,
  returns: string,
): string {
  const lines = [definition.description.trim()]
  if (params.length > 0) {
    lines.push('', 'Args:')
    for (const param of params) {
      const description = input.properties?.[param.name]?.description
      const defaultText = param.required ? '' : `, default ${pythonLiteral(param.default)}`
      lines.push(
        `    ${param.name} (${param.annotation}${defaultText})${description ? `: ${description}` : ''}`,
      )
    }
  }
  lines.push('', 'Returns:', `    ${returns}`, '')
  lines.push(
    `Capability ${id} (level ${definition.level}). Raises capsule.CapabilityDenied when the host refuses the call,`,
  )
  lines.push('capsule.InvalidArguments for bad arguments, capsule.CapabilityTimeout when it takes too long.')
  lines.push('Inside a coroutine it returns an awaitable.')
  return lines.join('\n')
}

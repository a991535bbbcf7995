import { z } from 'zod'
import type { CallArgs } from './providerFixtures.js'

type JsonSchemaProperty = { type?: unknown; anyOf?: unknown; oneOf?: unknown; default?: unknown }

// A value of another JSON type for each simple type; none of them can pass the original type.
const WRONG_VALUE: Record<string, unknown> = {
  string: 12345,
  number: 'not a number',
  integer: 'not a number',
  boolean: 'not a boolean',
}

/**
 * Schema-invalid arguments derived from valid ones: the first required parameter whose JSON Schema type
 * is a single string, number, integer or boolean gets a value of another type (failing that, the first
 * optional one does). Undefined when the schema has no such parameter: the fixture must then give
 * `invalid` itself, or `null` when no argument can be invalid.
 */
export function deriveInvalidArgs(input: z.ZodType, valid: CallArgs): CallArgs | undefined {
  let schema: { properties?: Record<string, JsonSchemaProperty>; required?: string[] }
  try {
    schema = z.toJSONSchema(input, { io: 'input', unrepresentable: 'any' }) as typeof schema
  } catch {
    return undefined
  }
  const required = new Set(schema.required ?? [])
  const properties = Object.entries(schema.properties ?? {})
  const isRequired = ([name, property]: [string, JsonSchemaProperty]) =>
    required.has(name) && property.default === undefined
  // Required parameters first: a wrong type there cannot be mistaken for an omitted argument.
  for (const [name, property] of [...properties.filter(isRequired), ...properties]) {
    if (typeof property.type !== 'string') continue
    const wrong = WRONG_VALUE[property.type]
    if (wrong !== undefined) return { ...valid, [name]: wrong }
  }
  return undefined
}

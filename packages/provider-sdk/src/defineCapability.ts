import type { z } from 'zod'
import type { CapabilityContext } from './capabilityContext.js'
import { ProviderDefinitionError } from './providerDefinitionError.js'
import { isSecurityLevel, type SecurityLevel } from './securityLevel.js'

/** Hints about what a capability does, for hosts and UIs (MCP-style tool annotations). */
export interface CapabilityAnnotations {
  /** It only reads. */
  readOnly?: boolean
  /** It may destroy or overwrite data. */
  destructive?: boolean
  /** It reaches outside the host (network). */
  openWorld?: boolean
  /** Calling it twice with the same arguments has no further effect. */
  idempotent?: boolean
}

/**
 * A first-party Python wrapper the worker puts around the plain result (a dict) before returning it,
 * e.g. an httpx-like response object for `http_response`.
 */
export type PythonResultWrapper = 'http_response' | 'completed_process'

/** Everything a capability is made of. */
export interface CapabilityDefinition<I extends z.ZodObject = z.ZodObject, O extends z.ZodType = z.ZodType> {
  /** Name inside the provider (`read_file`); the full id is `provider.name`. */
  name: string
  /** Name of the Python global; defaults to `name`. Must be a Python identifier. */
  python?: string
  /** The lowest security level that grants this capability. */
  level: SecurityLevel
  /** One or two sentences; the first line of the Python docstring. */
  description: string
  /** Arguments, as an object schema: each key becomes a Python parameter, in order. */
  input: I
  /** The result the handler returns; validated before Python sees it. */
  output: O
  annotations?: CapabilityAnnotations
  /** Argument names whose values the audit log must never record (tokens, passwords). */
  secretArgs?: readonly string[]
  /** Overrides the host's `callTimeoutMs` for this capability. */
  timeoutMs?: number
  /** Wraps the result in a first-party Python object. */
  pythonResult?: PythonResultWrapper
  /** Does the work. Throw CapabilityError to fail on purpose; honour `ctx.signal`. */
  handler(args: z.output<I>, ctx: CapabilityContext): Promise<z.input<O>> | z.input<O>
}

/** A capability definition with its types erased, as registries hold them. */
// biome-ignore lint/suspicious/noExplicitAny: handler arguments are checked at run time by the schema.
export type AnyCapabilityDefinition = CapabilityDefinition<z.ZodObject, z.ZodType<any>>

/** Matches names usable as capability names and Python identifiers: `read_file`, `get`. */
export const CAPABILITY_NAME_PATTERN = /^[a-z_][a-z0-9_]*$/

const PYTHON_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * Declares a capability. Checks the shape eagerly and returns the definition unchanged, typed so the
 * handler's arguments follow the input schema.
 */
export function defineCapability<I extends z.ZodObject, O extends z.ZodType>(
  definition: CapabilityDefinition<I, O>,
): CapabilityDefinition<I, O> {
  const where = `capability ${JSON.stringify(definition?.name)}`
  if (typeof definition !== 'object' || definition === null) {
    throw new ProviderDefinitionError('defineCapability expects an object')
  }
  if (typeof definition.name !== 'string' || !CAPABILITY_NAME_PATTERN.test(definition.name)) {
    throw new ProviderDefinitionError(
      `${where}: name must match ${CAPABILITY_NAME_PATTERN} (got ${JSON.stringify(definition.name)})`,
    )
  }
  if (
    definition.python !== undefined &&
    (typeof definition.python !== 'string' || !PYTHON_NAME_PATTERN.test(definition.python))
  ) {
    throw new ProviderDefinitionError(
      `${where}: python must be a Python identifier (got ${JSON.stringify(definition.python)})`,
    )
  }
  if (!isSecurityLevel(definition.level)) {
    throw new ProviderDefinitionError(
      `${where}: level must be one of sandbox, restricted, standard, trusted, unrestricted (got ${JSON.stringify(definition.level)})`,
    )
  }
  if (typeof definition.description !== 'string' || definition.description.trim() === '') {
    throw new ProviderDefinitionError(`${where}: description must be a non-empty string`)
  }
  for (const key of ['input', 'output'] as const) {
    if (isZod3Schema(definition[key])) {
      throw new ProviderDefinitionError(
        `${where}: zod 4 is required (this ${key} schema is from zod 3): depend on zod ≥ 4, or import z from "zod/v4" with zod 3.25`,
      )
    }
  }
  if (
    !isZodSchema(definition.input) ||
    (definition.input as { def?: { type?: string } }).def?.type !== 'object'
  ) {
    throw new ProviderDefinitionError(`${where}: input must be a zod object schema (z.object({...}))`)
  }
  if (!isZodSchema(definition.output)) {
    throw new ProviderDefinitionError(`${where}: output must be a zod schema`)
  }
  if (typeof definition.handler !== 'function') {
    throw new ProviderDefinitionError(`${where}: handler must be a function`)
  }
  if (
    definition.timeoutMs !== undefined &&
    !(Number.isInteger(definition.timeoutMs) && definition.timeoutMs > 0)
  ) {
    throw new ProviderDefinitionError(
      `${where}: timeoutMs must be an integer ≥ 1 (got ${definition.timeoutMs})`,
    )
  }
  return definition
}

// zod 3 schemas carry `_def` and no `_zod`; zod 4 (and zod/v4 in 3.25) schemas carry `_zod`.
function isZod3Schema(value: unknown): boolean {
  return typeof value === 'object' && value !== null && '_def' in value && !('_zod' in value)
}

function isZodSchema(value: unknown): value is z.ZodType {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { safeParse?: unknown }).safeParse === 'function'
  )
}

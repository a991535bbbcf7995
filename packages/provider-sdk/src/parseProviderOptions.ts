import type { z } from 'zod'
import { ProviderDefinitionError } from './providerDefinitionError.js'
import { explainZodIssue } from './zodIssue.js'

/** How {@link parseProviderOptions} reports problems. */
export interface ParseProviderOptionsSettings {
  /** Said when `options` is not an object at all: `must be an object with { roots: [...] }`. */
  expected?: string
  /** Top-level option names whose values are secrets: never echoed in an error, even host-side. */
  secretKeys?: readonly string[]
}

/**
 * Validates a provider factory's options with its zod schema and returns the parsed value. Throws
 * ProviderDefinitionError (code `INVALID_OPTIONS`) naming the first problem and the value given, e.g.
 * `httpProvider: options.maxRedirects must be an integer ≥ 0 (got -1)`.
 */
export function parseProviderOptions<S extends z.ZodType>(
  factory: string,
  schema: S,
  options: unknown,
  settings: ParseProviderOptionsSettings = {},
): z.output<S> {
  if (typeof options !== 'object' || options === null) {
    throw new ProviderDefinitionError(`${factory}: options ${settings.expected ?? 'must be an object'}`, {
      code: 'INVALID_OPTIONS',
    })
  }
  const parsed = schema.safeParse(options)
  if (parsed.success) return parsed.data
  const report = explainZodIssue(parsed.error.issues[0]!, { input: options, schema })
  const path = report.path.map((key) => (typeof key === 'number' ? `[${key}]` : `.${String(key)}`)).join('')
  const message =
    report.unknownKeys.length > 0 ? `has unknown option(s): ${report.unknownKeys.join(', ')}` : report.message
  const secret = typeof report.path[0] === 'string' && (settings.secretKeys ?? []).includes(report.path[0])
  const shown =
    report.unknownKeys.length > 0 || report.received === undefined || secret
      ? ''
      : ` (got ${describe(report.received)})`
  throw new ProviderDefinitionError(`${factory}: options${path} ${message}${shown}`, {
    code: 'INVALID_OPTIONS',
    details: { option: path.replace(/^\./, '') },
  })
}

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function'
  try {
    const text = JSON.stringify(value)
    return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text
  } catch {
    return String(value)
  }
}

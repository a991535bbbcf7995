import { z } from 'zod'

type Issue = z.core.$ZodIssue

/** What {@link explainZodIssue} needs besides the issue. */
export interface ZodIssueContext {
  /** The value that was parsed: the report quotes what it held at the bad key. */
  input: unknown
  /** The schema it was parsed with: an unknown key is matched against the keys valid at its place. */
  schema?: z.ZodType
  /** Keys the input sits under in a larger document (`['providers', 'kv']`), put before the issue's path. */
  prefix?: readonly PropertyKey[]
}

/** One zod issue, explained: where, what was expected, and what was there. */
export interface ZodIssueReport {
  /** Where the problem is, prefix included. For an unknown key, the object that holds it. */
  path: PropertyKey[]
  /** The issue's message: the schema's own wording where it has one (`must be an integer ≥ 1`), else zod's. */
  message: string
  /** What was expected, in plain words: `expected number`, `expected one of "a", "b"`, else the message. */
  expected: string
  /** The issue's kind after a failed union was narrowed to its closest branch (`invalid_type`, …). */
  code: Issue['code']
  /** The keys the schema does not know (an `unrecognized_keys` issue), else empty. */
  unknownKeys: string[]
  /** A known key close to the first unknown one (`levle` → `level`). */
  suggestion: string | undefined
  /** The value found at {@link ZodIssueReport.path} in the input (undefined when there is none). */
  received: unknown
}

/**
 * Explains the first problem of a failed parse: a failed union is narrowed to the branch that got
 * furthest (where the real mistake is), an unknown key gets a suggestion from the keys valid there, and
 * the value at the bad key is looked up. Callers word the sentence (see {@link formatZodIssue}).
 */
export function explainZodIssue(issue: Issue, context: ZodIssueContext): ZodIssueReport {
  const narrowed = deepestBranch(issue)
  const prefix = [...(context.prefix ?? [])]
  const unknownKeys = narrowed.code === 'unrecognized_keys' ? narrowed.keys : []
  const known = unknownKeys.length > 0 ? keysAt(context.schema, narrowed.path) : []
  const received = valueAt(context.input, narrowed.path)
  return {
    path: [...prefix, ...narrowed.path],
    message: narrowed.message,
    expected: hasOwnMessage(narrowed, received) ? narrowed.message : expectedOf(narrowed),
    code: narrowed.code,
    unknownKeys,
    suggestion: unknownKeys[0] === undefined ? undefined : closest(unknownKeys[0], known),
    received,
  }
}

/**
 * One line for the first problem of a failed parse, pointing at the bad key itself:
 * `limits.callTimeoutMs: expected number, got string`, `levle: unknown key (did you mean "level"?)`,
 * `codec: expected one of "auto", "msgpack", "json" (got "yaml")`.
 */
export function formatZodIssue(issue: Issue, context: ZodIssueContext): string {
  const report = explainZodIssue(issue, context)
  if (report.unknownKeys.length > 0) {
    const hint = report.suggestion ? ` (did you mean "${report.suggestion}"?)` : ''
    return `${formatIssuePath([...report.path, report.unknownKeys[0]!])}: unknown key${hint}`
  }
  const where = formatIssuePath(report.path)
  // A schema's own message stands as written.
  if (report.expected === report.message) return `${where}: ${report.message}`
  if (report.code === 'invalid_type') {
    const got = report.received === undefined ? 'nothing' : typeName(report.received)
    return `${where}: ${report.expected}, got ${got}`
  }
  if (report.code === 'invalid_value') {
    return `${where}: ${report.expected} (got ${JSON.stringify(report.received) ?? 'nothing'})`
  }
  return `${where}: ${report.expected}`
}

/** A path as code writes it: `limits.callTimeoutMs`, `roots[0].path`; `(root)` for none. */
export function formatIssuePath(keys: readonly PropertyKey[]): string {
  let out = ''
  for (const key of keys) {
    if (typeof key === 'number') out += `[${key}]`
    else out += `${out === '' ? '' : '.'}${String(key)}`
  }
  return out === '' ? '(root)' : out
}

function deepestBranch(issue: Issue): Issue {
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return issue
  const deepest = issue.errors
    .filter((branch) => branch.length > 0)
    .map((branch) => branch[0]!)
    .sort((a, b) => b.path.length - a.path.length)[0]
  if (!deepest || deepest.path.length === 0) return issue
  return deepestBranch({ ...deepest, path: [...issue.path, ...deepest.path] } as Issue)
}

// A schema's own message (`z.number().int('must be an integer')`) says more than plain words can; zod's
// default is what its configured locale writes for the same issue.
function hasOwnMessage(issue: Issue, received: unknown): boolean {
  const fallback = z.config().localeError?.({ ...issue, input: received } as never)
  const text = typeof fallback === 'string' ? fallback : fallback?.message
  return text !== undefined && text !== issue.message
}

function expectedOf(issue: Issue): string {
  if (issue.code === 'invalid_type') return `expected ${issue.expected}`
  if (issue.code === 'invalid_value') {
    return `expected one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`
  }
  if (issue.code === 'unrecognized_keys') return 'unknown key'
  return issue.message
}

interface SchemaDef {
  type: string
  shape?: Record<string, z.ZodType>
  innerType?: z.ZodType
  element?: z.ZodType
  valueType?: z.ZodType
  options?: z.ZodType[]
  in?: z.ZodType
}

const defOf = (schema: z.ZodType): SchemaDef => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def

// The object keys a schema accepts at `path`: through wrappers, arrays, records and every union branch.
function keysAt(schema: z.ZodType | undefined, path: readonly PropertyKey[]): string[] {
  if (!schema) return []
  const def = defOf(schema)
  const inner = def.innerType ?? def.in
  if (inner) return keysAt(inner, path)
  if (def.type === 'union') return [...new Set((def.options ?? []).flatMap((option) => keysAt(option, path)))]
  if (path.length === 0) return def.type === 'object' ? Object.keys(def.shape ?? {}) : []
  const [key, ...rest] = path
  if (def.type === 'object') return keysAt(def.shape?.[String(key)], rest)
  if (def.type === 'array') return keysAt(def.element, rest)
  if (def.type === 'record') return keysAt(def.valueType, rest)
  return []
}

function valueAt(input: unknown, keys: readonly PropertyKey[]): unknown {
  let value = input
  for (const key of keys) {
    if (typeof value !== 'object' || value === null) return undefined
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return value
}

function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index)
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i]
    for (let j = 1; j <= b.length; j += 1) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      )
    }
    previous = current
  }
  return previous[b.length]!
}

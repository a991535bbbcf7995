import type { z } from 'zod'

type Issue = z.core.$ZodIssue

/**
 * Formats the first problem zod found in a config as `key.path: what was expected`, pointing at the bad
 * key itself (an unknown key names that key, with a suggestion when one is close).
 */
export function formatConfigIssue(issue: Issue, input: unknown, prefix: readonly PropertyKey[] = []): string {
  // A union failed: report the branch that got furthest, where the real mistake is.
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const branches = issue.errors.filter((branch) => branch.length > 0)
    const deepest = branches.map((branch) => branch[0]!).sort((a, b) => b.path.length - a.path.length)[0]
    if (deepest && deepest.path.length > 0) {
      return formatConfigIssue({ ...deepest, path: [...issue.path, ...deepest.path] }, input, prefix)
    }
  }
  const where = [...prefix, ...issue.path]
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '?'
    const suggestion = closest(
      key,
      KNOWN_KEYS.filter((known) => !issue.keys.includes(known)),
    )
    return `${formatPath([...where, key])}: unknown key${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`
  }
  const actual = valueAt(input, issue.path)
  if (issue.code === 'invalid_type') {
    return `${formatPath(where)}: expected ${issue.expected}, got ${actual === undefined ? 'nothing' : describe(actual)}`
  }
  if (issue.code === 'invalid_value') {
    const options = issue.values.map((value) => JSON.stringify(value)).join(', ')
    return `${formatPath(where)}: expected one of ${options} (got ${JSON.stringify(actual) ?? 'nothing'})`
  }
  return `${formatPath(where)}: ${issue.message}`
}

/** `limits.callTimeoutMs`, `providers.fs.roots[0].path`. */
export function formatPath(keys: readonly PropertyKey[]): string {
  let out = ''
  for (const key of keys) {
    if (typeof key === 'number') out += `[${key}]`
    else out += `${out === '' ? '' : '.'}${String(key)}`
  }
  return out === '' ? '(root)' : out
}

function valueAt(input: unknown, keys: readonly PropertyKey[]): unknown {
  let value = input
  for (const key of keys) {
    if (typeof value !== 'object' || value === null) return undefined
    value = (value as Record<PropertyKey, unknown>)[key]
  }
  return value
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'array'
  return typeof value
}

// Zod's issue does not list the keys the schema knows, so suggestions come from every config and limits key.
const KNOWN_KEYS = [
  'level',
  'allow',
  'deny',
  'sandbox',
  'python',
  'codec',
  'bwrapPath',
  'cwd',
  'env',
  'mounts',
  'limits',
  'providers',
  'module',
  'export',
  'options',
  'source',
  'target',
  'write',
  'executeTimeoutMs',
  'callTimeoutMs',
  'interruptGraceMs',
  'maxOutputBytes',
  'maxFrameBytes',
  'displayMaxBytes',
  'startTimeoutMs',
  'heartbeatIntervalMs',
  'heartbeatTimeoutMs',
  'outputFlushMs',
  'memoryMb',
  'maxProcesses',
  'maxOpenFiles',
  'maxFileSizeMb',
  'cpuSeconds',
  'tmpSizeMb',
]

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

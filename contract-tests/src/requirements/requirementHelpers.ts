import type { AnyCapabilityDefinition } from '@capsule/provider-sdk'
import { expect } from 'vitest'
import type { PythonCallOutcome } from '../pythonHarness.js'

/** Timeout of tests that start Python workers. */
export const E2E_TEST_TIMEOUT_MS = 30_000

/** Matches Python identifiers (ASCII). */
export const PYTHON_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

const PYTHON_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(
    ' ',
  ),
)

/** Whether `name` can be a Python parameter: an identifier that is not a keyword. */
export function isPythonParameterName(name: string): boolean {
  return PYTHON_IDENTIFIER.test(name) && !PYTHON_KEYWORDS.has(name)
}

/** The keys of a capability's input object schema, in declaration order. */
export function inputKeys(definition: AnyCapabilityDefinition): string[] {
  return Object.keys((definition.input as unknown as { shape?: Record<string, unknown> }).shape ?? {})
}

/** Whether `value` is a stated reason: a string with something in it. */
export function isReason(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== ''
}

/** Fails with every problem spelled out (an `expect(...).toEqual([])` diff would truncate them). */
export function assertNoProblems(problems: readonly string[]): void {
  if (problems.length > 0) throw new Error(problems.join('; '))
}

/** The JSON form the Python helpers give a value: bytes as `{$bytes: hex}`, undefined object fields dropped. */
export function jsonForm(value: unknown): unknown {
  if (value === undefined || value === null) return null
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('hex') }
  if (Array.isArray(value)) return value.map(jsonForm)
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, item]) => item !== undefined)
        .map(([key, item]) => [key, jsonForm(item)]),
    )
  }
  return value
}

/** JSON with object keys sorted, for comparing values whatever the order of their keys. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/** The value of a successful call from Python; undefined for a failure. */
export function pythonValue(outcome: PythonCallOutcome): unknown {
  return outcome.ok ? outcome.value : undefined
}

/** Fails unless there are exactly `count` outcomes and all of them succeeded. */
export function expectSuccesses(outcomes: PythonCallOutcome[], count: number): void {
  assertNoProblems(
    outcomes
      .filter((outcome) => !outcome.ok)
      .map((outcome) => `a call from Python failed: ${describeOutcome(outcome)}`),
  )
  expect(outcomes).toHaveLength(count)
}

/** How a call from Python ended, in a few words: `InvalidArguments [INVALID_ARGUMENT]: …`. */
export function describeOutcome(outcome: PythonCallOutcome | undefined): string {
  if (outcome === undefined) return 'no outcome'
  if (outcome.ok) return `success (${JSON.stringify(outcome.value)})`
  return `${outcome.type}${outcome.code ? ` [${outcome.code}]` : ''}: ${outcome.message}`
}

/** A thrown value as `Name: message`. */
export function describeThrown(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`
  return String(error)
}

/** Settles to the error `promise` rejects with, or to undefined when it resolves. */
export function errorOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (thrown: unknown) => thrown ?? new Error('rejected with nothing'),
  )
}

import { explainZodIssue, formatIssuePath, formatZodIssue } from '@capsule/provider-sdk'
import { describe, expect, test } from 'vitest'
import { z } from 'zod'

const schema = z.strictObject({
  level: z.enum(['low', 'high']).optional(),
  limits: z.strictObject({ callTimeoutMs: z.number(), memoryMb: z.number() }).partial().optional(),
  roots: z.array(z.strictObject({ path: z.string(), write: z.boolean().optional() })).optional(),
  providers: z
    .union([z.record(z.string(), z.unknown()), z.array(z.strictObject({ name: z.string() }))])
    .optional(),
  timeoutMs: z.number().int('must be an integer').optional(),
})

/** The first issue of parsing `input` with `schema`, in the one-line form. */
function firstLine(input: unknown, prefix?: PropertyKey[]): string {
  const parsed = schema.safeParse(input)
  if (parsed.success) throw new Error('expected a failed parse')
  return formatZodIssue(parsed.error.issues[0]!, { input, schema, prefix })
}

describe('formatZodIssue', () => {
  test('names the key, what was expected and the type that came', () => {
    expect(firstLine({ limits: { callTimeoutMs: '5' } })).toBe(
      'limits.callTimeoutMs: expected number, got string',
    )
    expect(firstLine({ roots: [{}] })).toBe('roots[0].path: expected string, got nothing')
  })

  test('lists the allowed values and quotes the one given', () => {
    expect(firstLine({ level: 'mid' })).toBe('level: expected one of "low", "high" (got "mid")')
  })

  test('points at an unknown key and suggests the close one valid at that place', () => {
    expect(firstLine({ levle: 'low' })).toBe('levle: unknown key (did you mean "level"?)')
    expect(firstLine({ limits: { memoryMB: 1 } })).toBe(
      'limits.memoryMB: unknown key (did you mean "memoryMb"?)',
    )
    expect(firstLine({ roots: [{ path: '/', writ: true }] })).toBe(
      'roots[0].writ: unknown key (did you mean "write"?)',
    )
    // No suggestion from keys of another level: `memoryMb` is no top-level key.
    expect(firstLine({ memoryMb: 1 })).toBe('memoryMb: unknown key')
  })

  test('reports the union branch that got furthest, where the mistake is', () => {
    expect(firstLine({ providers: [{ name: 1 }] })).toBe('providers[0].name: expected string, got number')
  })

  test("keeps a schema's own message", () => {
    expect(firstLine({ timeoutMs: 1.5 })).toBe('timeoutMs: must be an integer')
  })

  test('puts a prefix before the path', () => {
    expect(firstLine({ level: 1 }, ['providers', 'kv'])).toBe(
      'providers.kv.level: expected one of "low", "high" (got 1)',
    )
  })
})

describe('explainZodIssue', () => {
  test('gives the parts: path, message, plain expectation, unknown keys, the value found', () => {
    const input = { limits: { callTimeoutMs: true } }
    const parsed = schema.safeParse(input)
    expect(parsed.success).toBe(false)
    const report = explainZodIssue(parsed.error!.issues[0]!, { input, schema })
    expect(report).toMatchObject({
      path: ['limits', 'callTimeoutMs'],
      code: 'invalid_type',
      expected: 'expected number',
      unknownKeys: [],
      received: true,
    })
    expect(report.message).toMatch(/expected number/)
  })
})

test('formatIssuePath writes paths as code does', () => {
  expect(formatIssuePath(['roots', 0, 'path'])).toBe('roots[0].path')
  expect(formatIssuePath([])).toBe('(root)')
})

import { binary } from '@capsule/provider-sdk'
import { describe, expect, test } from 'vitest'
import { z } from 'zod'
import { deriveInvalidArgs } from '../src/index.js'

describe('deriveInvalidArgs', () => {
  test('gives the first required simple parameter a value of another type', () => {
    const input = z.object({ data: binary(), path: z.string(), count: z.number() })
    const invalid = deriveInvalidArgs(input, { data: new Uint8Array(), path: 'a', count: 1 })
    expect(invalid).toEqual({ data: new Uint8Array(), path: 12345, count: 1 })
    expect(input.safeParse(invalid).success).toBe(false)
  })

  test('prefers required parameters over optional ones, and falls back to an optional one', () => {
    expect(
      deriveInvalidArgs(z.object({ flag: z.boolean().default(false), n: z.number().int() }), { n: 1 }),
    ).toEqual({
      n: 'not a number',
    })
    const keys = z.object({ prefix: z.string().default('') })
    const invalid = deriveInvalidArgs(keys, {})
    expect(invalid).toEqual({ prefix: 12345 })
    expect(keys.safeParse(invalid).success).toBe(false)
  })

  test('gives up when no parameter has a simple type', () => {
    expect(deriveInvalidArgs(z.object({}), {})).toBeUndefined()
    expect(
      deriveInvalidArgs(z.object({ data: z.union([z.string(), binary()]) }), { data: 'x' }),
    ).toBeUndefined()
  })
})

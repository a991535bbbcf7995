import { ProviderDefinitionError, parseProviderOptions } from '@capsule/provider-sdk'
import { describe, expect, test } from 'vitest'
import { z } from 'zod'

const schema = z.object({ max: z.number().int().min(1).default(5), token: z.string().optional() }).strict()

describe('parseProviderOptions', () => {
  test('returns the parsed options with defaults', () => {
    expect(parseProviderOptions('kvProvider', schema, {})).toEqual({ max: 5 })
  })

  test('names the option, the rule and the value given', () => {
    expect(() => parseProviderOptions('kvProvider', schema, { max: 0 })).toThrow(
      'kvProvider: options.max Too small: expected number to be >=1 (got 0)',
    )
    expect(() => parseProviderOptions('kvProvider', schema, { nope: 1 })).toThrow(
      /has unknown option\(s\): nope/,
    )
    expect(() => parseProviderOptions('kvProvider', schema, null, { expected: 'must be { max }' })).toThrow(
      'kvProvider: options must be { max }',
    )
  })

  test('never echoes a secret option', () => {
    let error: unknown
    try {
      parseProviderOptions('kvProvider', schema, { token: 42 }, { secretKeys: ['token'] })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ProviderDefinitionError)
    expect(String(error)).not.toContain('42')
  })
})

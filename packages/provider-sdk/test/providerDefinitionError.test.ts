import {
  defineCapability,
  defineProvider,
  ProviderDefinitionError,
  parseProviderOptions,
} from '@capsule/provider-sdk'
import { describe, expect, test } from 'vitest'
import { z } from 'zod'
import { z as z3 } from 'zod3'

const echo = {
  name: 'echo',
  level: 'sandbox' as const,
  description: 'Echo the text.',
  handler: ({ text }: { text: string }) => text,
}

function thrown(run: () => unknown): ProviderDefinitionError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderDefinitionError)
    return error as ProviderDefinitionError
  }
  throw new Error('expected a throw')
}

describe('ProviderDefinitionError', () => {
  test("carries core's brand, a code and details, so core's CapsuleError recognises it", () => {
    const error = thrown(() => defineProvider({ name: 'Bad', version: '1.0.0', capabilities: [] }))
    // The registered symbol core's CapsuleError[Symbol.hasInstance] looks for.
    expect(Symbol.for('capsule.error') in error).toBe(true)
    expect(error.name).toBe('CapsuleError')
    expect(error.code).toBe('INVALID_PROVIDER')
    expect(error.details).toEqual({})
  })

  test('a bad factory option is INVALID_OPTIONS naming the option', () => {
    const schema = z.object({ max: z.number().int().min(1) }).strict()
    const error = thrown(() => parseProviderOptions('kvProvider', schema, { max: 0 }))
    expect(error.code).toBe('INVALID_OPTIONS')
    expect(error.details).toEqual({ option: 'max' })
    expect(thrown(() => parseProviderOptions('kvProvider', schema, 'nope')).code).toBe('INVALID_OPTIONS')
  })
})

describe('zod 3 schemas', () => {
  test('a zod 3 input schema is told that zod 4 is required, not that it is no object schema', () => {
    const error = thrown(() =>
      defineCapability({ ...echo, input: z3.object({ text: z3.string() }) as never, output: z.string() }),
    )
    expect(error.message).toMatch(/^capability "echo": zod 4 is required \(this input schema is from zod 3\)/)
    expect(error.code).toBe('INVALID_PROVIDER')
  })

  test('a zod 3 output schema is told the same', () => {
    const error = thrown(() =>
      defineCapability({
        ...echo,
        input: z.object({ text: z.string() }),
        output: z3.string() as unknown as z.ZodString,
      }),
    )
    expect(error.message).toContain('zod 4 is required (this output schema is from zod 3)')
  })

  test('a zod 4 schema passes', () => {
    expect(
      defineCapability({ ...echo, input: z.object({ text: z.string() }), output: z.string() }).name,
    ).toBe('echo')
  })
})

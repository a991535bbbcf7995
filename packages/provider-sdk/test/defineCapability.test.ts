import {
  CapabilityError,
  defineCapability,
  defineProvider,
  ProviderDefinitionError,
} from '@capsule/provider-sdk'
import { describe, expect, test } from 'vitest'
import { z } from 'zod'

const echo = () =>
  defineCapability({
    name: 'echo',
    level: 'sandbox',
    description: 'Echo the text.',
    input: z.object({ text: z.string() }),
    output: z.string(),
    handler: ({ text }) => text,
  })

describe('defineCapability', () => {
  test('returns a valid definition unchanged', () => {
    const capability = echo()
    expect(capability.name).toBe('echo')
  })

  test('rejects a name that is not a lowercase identifier', () => {
    expect(() => defineCapability({ ...echo(), name: 'Bad-Name' })).toThrow(ProviderDefinitionError)
  })

  test('rejects an input schema that is not an object', () => {
    expect(() => defineCapability({ ...echo(), input: z.string() as never })).toThrow(/zod object schema/)
  })
})

describe('defineProvider', () => {
  test('rejects a version that is not semver', () => {
    expect(() => defineProvider({ name: 'kv', version: '1.0', capabilities: [] })).toThrow(/semantic version/)
  })

  test('rejects two capabilities with one name', () => {
    expect(() => defineProvider({ name: 'kv', version: '1.0.0', capabilities: [echo(), echo()] })).toThrow(
      /used twice/,
    )
  })
})

describe('CapabilityError', () => {
  test('refuses an unknown code', () => {
    expect(() => new CapabilityError('NOPE' as never, 'x')).toThrow(TypeError)
  })
})

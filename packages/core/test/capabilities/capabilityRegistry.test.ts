import { defineCapability, defineProvider } from '@capsule/provider-sdk'
import { describe, expect, test } from 'vitest'
import { z } from 'zod'
import { CapabilityRegistry } from '../../src/capabilities/capabilityRegistry.js'
import { testProvider } from '../fixtures.js'

const capability = (name: string, extra: Partial<Parameters<typeof defineCapability>[0]> = {}) =>
  defineCapability({
    name,
    level: 'sandbox',
    description: 'x',
    input: z.object({}),
    output: z.null(),
    handler: () => null,
    ...extra,
  } as Parameters<typeof defineCapability>[0])

describe('CapabilityRegistry', () => {
  test('ids are provider.name and specs carry a Python signature with defaults and annotations', () => {
    const registry = new CapabilityRegistry([testProvider()])
    const echo = registry.get('test.echo')!
    expect(echo.pythonName).toBe('echo')
    expect(echo.spec.params).toEqual([
      { name: 'text', kind: 'positional_or_keyword', required: true, annotation: 'str' },
      { name: 'times', kind: 'positional_or_keyword', required: false, default: 1, annotation: 'int' },
    ])
    expect(echo.spec.returns).toBe('str')
    expect(echo.spec.doc).toContain('Return the text.')
    expect(echo.spec.doc).toContain('text (str): what to echo')
    expect(registry.get('test.write')!.spec.params[0]!.annotation).toBe('str | bytes')
    expect(registry.get('test.blob')!.spec.returns).toBe('bytes')
  })

  test('a required parameter after an optional one becomes keyword-only', () => {
    const registry = new CapabilityRegistry([
      defineProvider({
        name: 'p',
        version: '1.0.0',
        capabilities: [capability('c', { input: z.object({ a: z.string().optional(), b: z.string() }) })],
      }),
    ])
    expect(registry.get('p.c')!.spec.params.map((p) => p.kind)).toEqual([
      'positional_or_keyword',
      'keyword_only',
    ])
  })

  test('rejects duplicate ids, duplicate Python names, reserved and bad names', () => {
    const provider = (name: string, ...caps: ReturnType<typeof capability>[]) =>
      defineProvider({ name, version: '1.0.0', capabilities: caps })
    expect(
      () => new CapabilityRegistry([provider('a', capability('x')), provider('a', capability('y'))]),
    ).toThrow(/two providers/)
    expect(
      () => new CapabilityRegistry([provider('a', capability('x')), provider('b', capability('x'))]),
    ).toThrow(/already used by a.x/)
    expect(() => new CapabilityRegistry([provider('a', capability('x', { python: 'display' }))])).toThrow(
      /reserved/,
    )
    expect(() => new CapabilityRegistry([provider('a', capability('x', { python: 'lambda' }))])).toThrow(
      /not a usable Python name/,
    )
  })

  test('rejects an argument name that cannot be a Python parameter', () => {
    const bad = defineProvider({
      name: 'a',
      version: '1.0.0',
      capabilities: [capability('x', { input: z.object({ 'not-valid': z.string() }) })],
    })
    expect(() => new CapabilityRegistry([bad])).toThrow(/not a valid Python parameter name/)
    const keyword = defineProvider({
      name: 'a',
      version: '1.0.0',
      capabilities: [capability('x', { input: z.object({ class: z.string() }) })],
    })
    expect(() => new CapabilityRegistry([keyword])).toThrow(
      expect.objectContaining({ code: 'INVALID_PROVIDER' }),
    )
  })

  test('rejects an unknown level, which would otherwise be granted at every level', () => {
    const provider = defineProvider({
      name: 'a',
      version: '1.0.0',
      capabilities: [{ ...capability('x'), level: 'root' as never }],
    })
    expect(() => new CapabilityRegistry([provider])).toThrow(/level must be one of/)
  })

  test('tells a schema from zod 3 (bypassing defineCapability) that zod 4 is required', () => {
    // The shape of a zod 3 schema: `_def` and no `_zod` (core has no zod 3 to build a real one).
    const zod3Object = { _def: { typeName: 'ZodObject' }, safeParse: () => ({ success: true }) }
    const provider = {
      name: 'a',
      version: '1.0.0',
      capabilities: [{ ...capability('x'), input: zod3Object }],
    }
    expect(() => new CapabilityRegistry([provider as never])).toThrow(
      /a"\.x: zod 4 is required \(this input schema is from zod 3\)/,
    )
  })

  test('rejects a provider object that was not made with defineProvider', () => {
    expect(() => new CapabilityRegistry([{ name: 'x', version: 'one', capabilities: [] } as never])).toThrow(
      /semantic version/,
    )
  })
})

import { CapabilityError } from '@capsule/provider-sdk'
import { describe, expect, test } from 'vitest'
import { z } from 'zod'
import { pessimisticAnnotations, toolLevel } from '../src/provider/toolLevel.js'
import { capabilityName } from '../src/provider/toolNames.js'
import { toolResultValue } from '../src/provider/toolResultValue.js'
import { pythonParameterName, ToolSchemaError, toolInputSchema } from '../src/provider/toolSchema.js'

// The pure steps from an MCP tool listing to a capability: names, levels, schemas and results.

describe('tool levels', () => {
  test('hints can raise the host level to trusted but never lower it', () => {
    const closed = { readOnlyHint: true, openWorldHint: false }
    expect(toolLevel('standard', closed)).toBe('standard')
    expect(toolLevel('restricted', closed)).toBe('restricted')
    expect(toolLevel('standard', undefined)).toBe('trusted')
    expect(toolLevel('standard', { readOnlyHint: true })).toBe('trusted')
    expect(toolLevel('standard', { destructiveHint: false, openWorldHint: false })).toBe('standard')
    expect(toolLevel('standard', { destructiveHint: true, openWorldHint: false })).toBe('trusted')
    expect(toolLevel('unrestricted', undefined)).toBe('unrestricted')
  })

  test('a host override is final either way', () => {
    expect(toolLevel('standard', undefined, 'restricted')).toBe('restricted')
    expect(toolLevel('sandbox', { readOnlyHint: true, openWorldHint: false }, 'unrestricted')).toBe(
      'unrestricted',
    )
  })

  test('absent hints read as the MCP defaults: destructive, open-world, not idempotent', () => {
    expect(pessimisticAnnotations(undefined)).toEqual({
      readOnly: false,
      destructive: true,
      openWorld: true,
      idempotent: false,
    })
    expect(pessimisticAnnotations({ readOnlyHint: true, openWorldHint: false })).toEqual({
      readOnly: true,
      destructive: false,
      openWorld: false,
      idempotent: true,
    })
  })
})

describe('names', () => {
  test('tool names become lowercase snake-case capability names', () => {
    expect(capabilityName('getWeather')).toBe('get_weather')
    expect(capabilityName('get-sum')).toBe('get_sum')
    expect(capabilityName('HTTPRequest')).toBe('http_request')
    expect(capabilityName('2fa.verify')).toBe('t_2fa_verify')
    expect(capabilityName('!!!')).toBeUndefined()
    expect(capabilityName('x'.repeat(100))).toHaveLength(64)
  })

  test('argument names become Python identifiers', () => {
    expect(pythonParameterName('file-path')).toBe('file_path')
    expect(pythonParameterName('class')).toBe('class_')
    expect(pythonParameterName('1st')).toBe('_1st')
    expect(pythonParameterName('')).toBe('_')
  })
})

describe('input schemas', () => {
  test('properties keep their types, required-ness and descriptions; renamed ones map back', () => {
    const input = toolInputSchema({
      type: 'object',
      properties: {
        'file-path': { type: 'string', description: 'where' },
        count: { type: 'integer', minimum: 1 },
      },
      required: ['file-path'],
    })
    expect(input.argumentNames).toEqual(
      new Map([
        ['file_path', 'file-path'],
        ['count', 'count'],
      ]),
    )
    expect(input.schema.safeParse({ file_path: 'a' }).success).toBe(true)
    expect(input.schema.safeParse({ count: 2 }).success).toBe(false)
    expect(input.schema.safeParse({ file_path: 'a', count: 0 }).success).toBe(false)
    expect(z.toJSONSchema(input.schema)).toMatchObject({
      properties: { file_path: { type: 'string', description: 'where' }, count: { type: 'integer' } },
      required: ['file_path'],
    })
  })

  test('recursive schemas convert; inexpressible properties accept any JSON value', () => {
    const tree = toolInputSchema({
      type: 'object',
      $defs: {
        node: { type: 'object', properties: { kids: { type: 'array', items: { $ref: '#/$defs/node' } } } },
      },
      properties: {
        root: { $ref: '#/$defs/node' },
        odd: { not: { type: 'string' }, description: 'anything' },
      },
    })
    expect(tree.schema.safeParse({ root: { kids: [{ kids: [] }] }, odd: 3 }).success).toBe(true)
    expect(tree.schema.safeParse({ root: { kids: 'no' } }).success).toBe(false)
    expect(z.toJSONSchema(tree.schema, { unrepresentable: 'any' })).toMatchObject({
      properties: { odd: { description: 'anything' } },
    })
  })

  test('huge, deep, non-object and colliding schemas are refused with a reason', () => {
    const bounds = { maxBytes: 1000, maxDepth: 8, maxParams: 3 }
    const many = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`p${i}`, {}]))
    const refuse = (schema: unknown) => {
      try {
        toolInputSchema(schema, bounds)
      } catch (error) {
        expect(error).toBeInstanceOf(ToolSchemaError)
        return (error as Error).message
      }
      throw new Error('accepted')
    }
    expect(refuse({ type: 'object', description: 'x'.repeat(2000) })).toMatch(
      /^its input schema is \d+ bytes \(limit 1000\)$/,
    )
    let deep: unknown = { type: 'string' }
    for (let i = 0; i < 10; i += 1) deep = { type: 'array', items: deep }
    expect(refuse({ type: 'object', properties: { d: deep } })).toBe(
      'its input schema nests deeper than 8 levels',
    )
    expect(refuse({ type: 'object', properties: many })).toBe('its input schema has 4 parameters (limit 3)')
    expect(refuse({ type: 'string' })).toBe('its input schema is not an object schema')
    expect(refuse('nope')).toBe('its input schema is not an object')
    expect(refuse({ type: 'object', properties: { 'a-b': {}, a_b: {} } })).toBe(
      'its arguments "a-b" and "a_b" both become the Python parameter a_b',
    )
    const cyclic: Record<string, unknown> = { type: 'object' }
    cyclic.self = cyclic
    expect(refuse(cyclic)).toBe('its input schema is not plain JSON')
  })
})

describe('results', () => {
  test('structured content wins; one text block is a str; several blocks are a list with bytes', () => {
    expect(
      toolResultValue('t', { content: [{ type: 'text', text: 'x' }], structuredContent: { a: 1 } }),
    ).toEqual({ a: 1 })
    expect(toolResultValue('t', { content: [{ type: 'text', text: 'x' }] })).toBe('x')
    expect(toolResultValue('t', { content: [] })).toBeNull()
    expect(
      toolResultValue('t', {
        content: [
          { type: 'text', text: 'see' },
          { type: 'image', mimeType: 'image/png', data: Buffer.from('png').toString('base64') },
          { type: 'resource', resource: { uri: 'file:///a', mimeType: 'text/plain', text: 'body' } },
        ],
      }),
    ).toEqual([
      'see',
      { type: 'image', mime_type: 'image/png', data: new Uint8Array(Buffer.from('png')) },
      { type: 'resource', uri: 'file:///a', mime_type: 'text/plain', text: 'body' },
    ])
  })

  test('a tool error is a CapabilityError with the tool’s text, clipped', () => {
    const failure = (() => {
      try {
        toolResultValue('t', { isError: true, content: [{ type: 'text', text: 'y'.repeat(5000) }] })
      } catch (error) {
        return error
      }
    })()
    expect(failure).toBeInstanceOf(CapabilityError)
    expect((failure as CapabilityError).code).toBe('INTERNAL')
    expect((failure as CapabilityError).message).toHaveLength('the tool t failed: '.length + 2001)
  })
})

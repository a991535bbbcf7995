import { Capsule } from '@capsule/core'
import { isCapabilityError, ProviderDefinitionError } from '@capsule/provider-sdk'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { type McpProviderDefinition, mcpProvider } from '../src/index.js'
import { hostileServerCommand, TEST_PYTHON } from './helpers.js'

// Child processes (tsx compiling the CLI, a Python worker, an MCP server) start slowly on a loaded machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 })

// A hand-written server lists what the SDK would never send: huge, deep and recursive schemas, names with
// nothing to keep, colliding names, hints that are not booleans, and garbage lines on stdout.

let provider: McpProviderDefinition
let capsule: Capsule

beforeAll(async () => {
  provider = await mcpProvider({ name: 'hostile', ...hostileServerCommand(), level: 'restricted' })
  capsule = new Capsule({ level: 'trusted', sandbox: 'none', python: TEST_PYTHON, providers: [provider] })
})

afterAll(async () => {
  await capsule?.close()
})

describe('mcpProvider against a hostile server', () => {
  test('skips the tools it cannot offer safely, each with its reason', () => {
    const reasons = Object.fromEntries(provider.skipped.map((entry) => [entry.tool, entry.reason]))
    expect(reasons.huge).toMatch(/^its input schema is \d+ bytes \(limit 65536\)$/)
    expect(reasons.deep).toBe('its input schema nests deeper than 32 levels')
    expect(reasons['!!!']).toBe('its name has no letters or digits to make a Python name from')
    expect(reasons['OK-Tool']).toBe('its name becomes ok_tool, which an earlier tool already has')
    expect(reasons.clash).toBe('its arguments "a-b" and "a_b" both become the Python parameter a_b')
    expect(reasons.not_object).toBe('its input schema is not an object schema')
    expect(provider.capabilities.map((entry) => entry.name).sort()).toEqual([
      'liar',
      'ok_tool',
      'tree',
      'weird_schema',
    ])
  })

  test('hints that are not booleans count as absent: the tool needs trusted whatever it claims', () => {
    const levels = Object.fromEntries(provider.capabilities.map((entry) => [entry.name, entry.level]))
    expect(levels).toEqual({
      ok_tool: 'restricted',
      tree: 'restricted',
      weird_schema: 'restricted',
      liar: 'trusted',
    })
  })

  test('a version that is not semver becomes 0.0.0', () => {
    expect(provider.server).toEqual({ name: 'hostile', version: 'not-semver' })
    expect(provider.version).toBe('0.0.0')
  })

  test('Python calls the remaining tools; a garbage line before the answer is skipped; recursive arguments pass', async () => {
    const session = await capsule.session()
    const result = await session.run(
      [
        'from capsule import InvalidArguments',
        'a = hostile_ok_tool(n=3)',
        'b = hostile_tree(root={"children": [{"children": []}]})',
        'try:',
        '    hostile_weird_schema(v=1)',
        'except InvalidArguments as error:',
        '    c = str(error)',
        '(a, b, c)',
      ].join('\n'),
    )
    await session.close()
    expect(result.error).toBeNull()
    expect(result.value?.['text/plain']).toBe(
      "('n=3', {'got': {'root': {'children': [{'children': []}]}}}, 'weird_schema refused its arguments: no such tool weird_schema')",
    )
  })

  test('options are checked eagerly; an unreachable server is UNAVAILABLE', async () => {
    await expect(mcpProvider({ name: 'Bad Name', command: 'x' })).rejects.toThrow(ProviderDefinitionError)
    await expect(mcpProvider({ name: 'both', command: 'x', url: 'http://127.0.0.1:1/mcp' })).rejects.toThrow(
      /give exactly one of command/,
    )
    const failure = await mcpProvider({
      name: 'missing',
      command: '/nonexistent/mcp-server',
      connectTimeoutMs: 5000,
    }).catch((error: unknown) => error)
    expect(isCapabilityError(failure) && failure.code).toBe('UNAVAILABLE')
    const http = await mcpProvider({
      name: 'nohttp',
      url: 'http://127.0.0.1:1/mcp',
      connectTimeoutMs: 5000,
    }).catch((error: unknown) => error)
    expect(isCapabilityError(http) && http.code).toBe('UNAVAILABLE')
  })
})

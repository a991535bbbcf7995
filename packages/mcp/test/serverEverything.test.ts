import { Capsule } from '@capsule/core'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { type McpProviderDefinition, mcpProvider } from '../src/index.js'
import { everythingServerCommand, TEST_PYTHON } from './helpers.js'

// Child processes (tsx compiling the CLI, a Python worker, an MCP server) start slowly on a loaded machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 })

// The published reference server from the npm registry (@modelcontextprotocol/server-everything), a
// server nobody here wrote, spawned over stdio.

let provider: McpProviderDefinition
let capsule: Capsule

beforeAll(async () => {
  provider = await mcpProvider({ name: 'everything', ...everythingServerCommand(), stderr: 'ignore' })
  capsule = new Capsule({ level: 'standard', sandbox: 'none', python: TEST_PYTHON, providers: [provider] })
})

afterAll(async () => {
  await capsule?.close()
})

describe('mcpProvider against @modelcontextprotocol/server-everything', () => {
  test('its tools become capabilities; its read-only closed-world tools are granted at standard', () => {
    const byName = new Map(provider.capabilities.map((entry) => [entry.name, entry]))
    expect(byName.get('get_sum')?.python).toBe('everything_get_sum')
    expect(byName.get('get_sum')?.level).toBe('standard')
    expect(byName.has('echo')).toBe(true)
    expect(byName.has('get_tiny_image')).toBe(true)
  })

  test('Python calls them synchronously and through asyncio.gather', async () => {
    const session = await capsule.session()
    // A cell with top-level await runs as a coroutine, where calls return awaitables: sync calls get their own cell.
    const sync = await session.run(
      [
        'one = everything_get_sum(a=2, b=40)',
        'image = everything_get_tiny_image()',
        '(one, [part["mime_type"] for part in image if isinstance(part, dict)])',
      ].join('\n'),
    )
    const gathered = await session.run(
      'import asyncio\nawait asyncio.gather(*(everything_get_sum(a=i, b=1) for i in range(5)))',
    )
    await session.close()
    expect(sync.error).toBeNull()
    expect(sync.value?.['text/plain']).toBe("('The sum of 2 and 40 is 42.', ['image/png'])")
    expect(gathered.error).toBeNull()
    const value = String(gathered.value?.['text/plain'])
    for (let i = 0; i < 5; i += 1) expect(value).toContain(`The sum of ${i} and 1 is ${i + 1}.`)
  })
})

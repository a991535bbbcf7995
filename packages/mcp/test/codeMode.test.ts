import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Client } from '@modelcontextprotocol/client'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { connectStdio, structured } from './capsuleMcpHarness.js'
import { TEST_PYTHON, toolServerCommand } from './helpers.js'

// Child processes (tsx compiling the CLI, a Python worker, an MCP server) start slowly on a loaded machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 })

// Both directions at once ("code mode"): `capsule mcp` serves Python to an MCP client, and that Python
// calls another MCP server's tools as functions, through a capsule.config.mjs with mcpProvider.

let dir: string
let client: Client

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'capsule-code-mode-'))
  const config = path.join(dir, 'capsule.config.mjs')
  const mcpModule = pathToFileURL(path.resolve(import.meta.dirname, '../src/index.ts')).href
  await writeFile(
    config,
    [
      `import { mcpProvider } from ${JSON.stringify(mcpModule)}`,
      'export default {',
      "  level: 'standard',",
      "  sandbox: 'none',",
      `  python: ${JSON.stringify(TEST_PYTHON)},`,
      `  providers: [await mcpProvider({ name: 'tools', ...${JSON.stringify(toolServerCommand())}, stderr: 'ignore' })],`,
      '}',
    ].join('\n'),
  )
  client = await connectStdio(['--config', config])
})

afterAll(async () => {
  await client?.close()
  await rm(dir, { recursive: true, force: true })
})

describe('code mode', () => {
  test('list_capabilities shows the other server’s tools the level grants, and only those', async () => {
    const listing = await client.callTool({ name: 'list_capabilities', arguments: {} })
    const names = (structured(listing).capabilities as Array<{ python: string }>).map((entry) => entry.python)
    expect(names).toContain('tools_add')
    expect(names).toContain('tools_echo')
    // Unannotated, so destructive and open-world by the spec's defaults: trusted, above this level.
    expect(names).not.toContain('tools_get_weather')
  })

  test('Python calls the tools, and run_python reports each call', async () => {
    const result = await client.callTool({
      name: 'run_python',
      arguments: { code: 'total = sum(tools_add(a=i, b=1)["sum"] for i in range(3))\ntotal' },
    })
    expect(structured(result)).toMatchObject({
      status: 'ok',
      value: { 'text/plain': '6' },
      capability_calls: [
        { capability: 'tools.add', args: { a: 0, b: 1 } },
        { capability: 'tools.add', args: { a: 1, b: 1 } },
        { capability: 'tools.add', args: { a: 2, b: 1 } },
      ],
    })
  })

  test('a tool above the level is simply absent: NameError', async () => {
    const result = await client.callTool({
      name: 'run_python',
      arguments: { code: 'tools_get_weather(city_name="x")' },
    })
    expect(structured(result)).toMatchObject({ status: 'error', error: { ename: 'NameError' } })
  })
})

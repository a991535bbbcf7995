import type { Client } from '@modelcontextprotocol/client'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { connectStdio, structured } from './capsuleMcpHarness.js'

// Child processes (tsx compiling the CLI, a Python worker, an MCP server) start slowly on a loaded machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 })

// `capsule mcp` with the worker inside bubblewrap, as a real deployment runs it. On a root host the
// sandboxed worker needs the distribution interpreter (/usr/bin/python3), which also has matplotlib.

const SANDBOX_PYTHON = '/usr/bin/python3'
let client: Client

beforeAll(async () => {
  client = await connectStdio(['--sandbox', 'bwrap', '--python', SANDBOX_PYTHON])
})

afterAll(async () => {
  await client?.close()
})

describe('capsule mcp with a sandboxed worker', () => {
  test('says so, and the code cannot reach the network or host files', async () => {
    const { tools } = await client.listTools()
    expect(tools.find((tool) => tool.name === 'run_python')?.description).toContain(
      'persistent sandboxed session',
    )
    const result = await client.callTool({
      name: 'run_python',
      arguments: {
        code: [
          'import socket, os',
          'try:',
          '    socket.create_connection(("1.1.1.1", 53), timeout=2)',
          '    net = "reached"',
          'except OSError:',
          '    net = "blocked"',
          '(net, os.path.exists("/root"), os.getuid() != 0)',
        ].join('\n'),
      },
    })
    expect(structured(result).value).toEqual({ 'text/plain': "('blocked', False, True)" })
  })

  test('a matplotlib figure comes back as image content', async () => {
    const result = await client.callTool({
      name: 'run_python',
      arguments: { code: 'import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.show()' },
    })
    expect(result.isError, JSON.stringify(result)).toBe(false)
    const images = (result.content as Array<{ type: string; data?: string; mimeType?: string }>).filter(
      (block) => block.type === 'image',
    )
    expect(images).toHaveLength(1)
    expect(images[0]?.mimeType).toBe('image/png')
    expect(
      Buffer.from(images[0]?.data ?? '', 'base64')
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG')
  })
})

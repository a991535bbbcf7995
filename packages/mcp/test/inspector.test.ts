import { spawn } from 'node:child_process'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { capsuleMcpCommand, type HttpServerProcess, startHttpServer } from './capsuleMcpHarness.js'
import { REPO_ROOT } from './helpers.js'

// Child processes (tsx compiling the CLI, a Python worker, an MCP server) start slowly on a loaded machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 })

// The MCP Inspector's CLI mode (@modelcontextprotocol/inspector 0.16.7, a client nobody here wrote, on the
// SDK's 2025 line), run from the installed package with no network, against `capsule mcp`.

const INSPECTOR = fileURLToPath(
  new URL('../node_modules/@modelcontextprotocol/inspector/cli/build/cli.js', import.meta.url),
)
const TOKEN = 'inspector-token-0123456789'

let dir: string
let config: string

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'capsule-inspector-'))
  // The client configuration the docs show ({ "mcpServers": { … } }), pointing at the CLI's sources.
  const { command, args } = capsuleMcpCommand()
  config = path.join(dir, 'mcp.json')
  await writeFile(
    config,
    JSON.stringify({ mcpServers: { capsule: { command: path.join(dir, 'capsule-mcp.sh') } } }),
  )
  // The Inspector hands its own flags to the server command too: a wrapper keeps them apart.
  await writeFile(
    path.join(dir, 'capsule-mcp.sh'),
    `#!/bin/sh\nexec ${[command, ...args].map((part) => `'${part}'`).join(' ')}\n`,
  )
  await chmod(path.join(dir, 'capsule-mcp.sh'), 0o755)
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

function inspector(
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [INSPECTOR, '--cli', ...args], { cwd: REPO_ROOT, stdio: 'pipe' })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
    child.stdin.end()
  })
}

describe('the MCP Inspector CLI against capsule mcp over stdio', () => {
  test('lists the tools from an mcpServers configuration', async () => {
    const run = await inspector(['--config', config, '--server', 'capsule', '--method', 'tools/list'])
    expect(run.code, run.stderr).toBe(0)
    const names = (JSON.parse(run.stdout) as { tools: Array<{ name: string }> }).tools.map(
      (tool) => tool.name,
    )
    expect(names.sort()).toEqual(['list_capabilities', 'reset_session', 'run_python'])
  })

  test('calls run_python', async () => {
    const run = await inspector([
      '--config',
      config,
      '--server',
      'capsule',
      '--method',
      'tools/call',
      '--tool-name',
      'run_python',
      '--tool-arg',
      'code=print("hi")\n6 * 7',
    ])
    expect(run.code, run.stderr).toBe(0)
    const result = JSON.parse(run.stdout) as { isError: boolean; structuredContent: Record<string, unknown> }
    expect(result.isError).toBe(false)
    expect(result.structuredContent).toMatchObject({
      status: 'ok',
      stdout: 'hi\n',
      value: { 'text/plain': '42' },
    })
  })
})

describe('the MCP Inspector CLI against capsule mcp --http', () => {
  let server: HttpServerProcess

  beforeAll(async () => {
    server = await startHttpServer([], { CAPSULE_MCP_TOKEN: TOKEN })
  })

  afterAll(async () => {
    await server?.stop()
  })

  test('lists and calls tools over Streamable HTTP with the bearer token', async () => {
    const auth = ['--transport', 'http', '--header', `Authorization: Bearer ${TOKEN}`]
    const list = await inspector([server.url, ...auth, '--method', 'tools/list'])
    expect(list.code, list.stderr).toBe(0)
    expect(list.stdout).toContain('"run_python"')
    const call = await inspector([
      server.url,
      ...auth,
      '--method',
      'tools/call',
      '--tool-name',
      'run_python',
      '--tool-arg',
      'code=sum(range(10))',
    ])
    expect(call.code, call.stderr).toBe(0)
    expect(
      (JSON.parse(call.stdout) as { structuredContent: { value: unknown } }).structuredContent.value,
    ).toEqual({
      'text/plain': '45',
    })
    const refused = await inspector([server.url, '--transport', 'http', '--method', 'tools/list'])
    expect(refused.code).not.toBe(0)
  })
})

import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'

// Child processes (tsx compiling the CLI, a Python worker, an MCP server) start slowly on a loaded machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 })

// `capsule mcp` as a command: flags, help, the config file, and raw JSON-RPC over stdio (the SDK client
// and the MCP Inspector drive it in packages/mcp/test). Runs the CLI from its sources with tsx.

const CLI_SOURCE = fileURLToPath(new URL('../src/bin.ts', import.meta.url))
const TSX = fileURLToPath(new URL('../../../node_modules/tsx/dist/loader.mjs', import.meta.url))
const PYTHON = process.env.CAPSULE_PYTHON ?? 'python3'

function spawnMcp(args: readonly string[], cwd: string, env: Record<string, string> = {}) {
  return spawn(
    process.execPath,
    ['--import', TSX, '--conditions=@capsule/source', CLI_SOURCE, 'mcp', ...args],
    {
      cwd,
      env: { ...process.env, NO_COLOR: '1', ...env },
      stdio: 'pipe',
    },
  )
}

function runMcp(args: readonly string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawnMcp(args, tmpdir(), env)
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

/** A JSON-RPC conversation with a `capsule mcp` child: send lines, wait for the answer to an id. */
class RawConversation {
  readonly #child: ChildProcessWithoutNullStreams
  #buffer = ''
  readonly #answers = new Map<number, unknown>()
  #waiter: (() => void) | undefined

  constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      this.#buffer += chunk
      let newline = this.#buffer.indexOf('\n')
      while (newline !== -1) {
        const message = JSON.parse(this.#buffer.slice(0, newline)) as { id?: number }
        this.#buffer = this.#buffer.slice(newline + 1)
        if (typeof message.id === 'number') this.#answers.set(message.id, message)
        newline = this.#buffer.indexOf('\n')
      }
      this.#waiter?.()
    })
  }

  send(line: string | object): void {
    this.#child.stdin.write(`${typeof line === 'string' ? line : JSON.stringify(line)}\n`)
  }

  answer(id: number): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to request ${id}`)), 30_000)
      const check = () => {
        const found = this.#answers.get(id)
        if (found === undefined) return
        clearTimeout(timer)
        this.#waiter = undefined
        resolve(found as Record<string, unknown>)
      }
      this.#waiter = check
      check()
    })
  }

  async initialize(): Promise<void> {
    this.send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    })
    await this.answer(1)
    this.send({ jsonrpc: '2.0', method: 'notifications/initialized' })
  }

  callTool(id: number, name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.send({ jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } })
    return this.answer(id)
  }
}

function structuredOf(answer: Record<string, unknown>): Record<string, unknown> {
  return (answer.result as { structuredContent: Record<string, unknown> }).structuredContent
}

describe('capsule mcp flags', () => {
  test('--help describes stdio and HTTP serving', async () => {
    const run = await runMcp(['--help'])
    expect(run.code).toBe(0)
    expect(run.stdout).toContain('Usage: capsule mcp [--http')
    expect(run.stdout).toContain('run_python')
    expect(run.stdout).toContain('--token-file FILE')
  })

  test('HTTP-only flags without --http, bad numbers and short tokens are usage errors (exit 2)', async () => {
    const port = await runMcp(['--port', '8000'])
    expect(port.code).toBe(2)
    expect(port.stderr).toBe('capsule mcp: --port is an option of --http (see capsule mcp --help)\n')
    const sessions = await runMcp(['--max-sessions', '0'])
    expect(sessions.code).toBe(2)
    expect(sessions.stderr).toContain('--max-sessions must be a whole number ≥ 1 (got "0")')
    const token = await runMcp(['--http'], { CAPSULE_MCP_TOKEN: 'short' })
    expect(token.code).toBe(2)
    expect(token.stderr).toContain('the MCP token must be at least 16 characters (CAPSULE_MCP_TOKEN)')
  })

  test('an interpreter that cannot start fails at once with exit 2, before serving', async () => {
    const run = await runMcp(['--sandbox', 'none', '--no-config', '--python', '/nonexistent/python3'])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/^capsule mcp: PYTHON_NOT_FOUND: /)
    expect(run.stdout).toBe('')
  })
})

describe('capsule mcp over stdio, raw', () => {
  let dir: string
  let child: ChildProcessWithoutNullStreams
  let conversation: RawConversation

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'capsule-mcp-cli-'))
    // The same config file the other commands read: it sets the level here.
    await writeFile(
      path.join(dir, 'capsule.config.json'),
      JSON.stringify({ level: 'sandbox', sandbox: 'none', python: PYTHON }),
    )
    child = spawnMcp([], dir)
    conversation = new RawConversation(child)
    await conversation.initialize()
  })

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const closed = new Promise((resolve) => child.once('close', resolve))
      child.stdin.end()
      await closed
    }
    await rm(dir, { recursive: true, force: true })
  })

  test('takes its level from capsule.config.json', async () => {
    const answer = await conversation.callTool(2, 'list_capabilities', {})
    expect(structuredOf(answer)).toMatchObject({ level: 'sandbox', sandbox: 'none' })
  })

  test('lines that are not JSON-RPC are skipped: the next request is answered', async () => {
    conversation.send('this is not json')
    conversation.send('{"jsonrpc": "2.0", "id": 99, "method": ')
    conversation.send('[1, 2, 3]')
    const answer = await conversation.callTool(3, 'run_python', { code: '6 * 7' })
    expect(structuredOf(answer).value).toEqual({ 'text/plain': '42' })
  })

  test('bad arguments get an error result, and the session carries on', async () => {
    const bad = await conversation.callTool(4, 'run_python', { code: 42 })
    expect((bad.result as { isError: boolean }).isError).toBe(true)
    const unknown = await conversation.callTool(5, 'no_such_tool', {})
    expect(JSON.stringify(unknown)).toContain('no_such_tool')
    const answer = await conversation.callTool(6, 'run_python', { code: 'x = 1\nx + 1' })
    expect(structuredOf(answer).value).toEqual({ 'text/plain': '2' })
  })

  test('the server ends when the client closes stdin', async () => {
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve))
    child.stdin.end()
    expect(await closed).toBe(0)
  })
})

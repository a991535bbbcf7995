import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Client } from '@modelcontextprotocol/client'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { connectStdio, resultText, structured } from './capsuleMcpHarness.js'

// Child processes (tsx compiling the CLI, a Python worker, an MCP server) start slowly on a loaded machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 })

// `capsule mcp` over stdio, through the SDK's own client: the command an MCP client configuration starts.

const PIXEL_PNG_BASE64 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=='

let client: Client
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'capsule-mcp-'))
  await writeFile(path.join(dir, 'notes.txt'), 'hello from a file')
  client = await connectStdio(['--level', 'restricted', '--fs-root', dir])
})

afterAll(async () => {
  await client?.close()
  await rm(dir, { recursive: true, force: true })
})

function run(code: string, extra: Record<string, unknown> = {}) {
  return client.callTool({ name: 'run_python', arguments: { code, ...extra } })
}

describe('capsule mcp over stdio', () => {
  test('lists run_python, list_capabilities and reset_session with honest annotations', async () => {
    const { tools } = await client.listTools()
    const byName = new Map(tools.map((tool) => [tool.name, tool]))
    expect([...byName.keys()].sort()).toEqual(['list_capabilities', 'reset_session', 'run_python'])
    expect(byName.get('run_python')?.annotations).toEqual({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: false,
      openWorldHint: true,
    })
    expect(byName.get('list_capabilities')?.annotations?.readOnlyHint).toBe(true)
    expect(byName.get('reset_session')?.annotations?.destructiveHint).toBe(true)
    expect(byName.get('run_python')?.inputSchema.required).toEqual(['code'])
    expect(byName.get('run_python')?.outputSchema?.properties).toHaveProperty('capability_calls')
  })

  test('run_python keeps one namespace across calls and returns structured content', async () => {
    const first = await run('x = 40\nprint("set x")')
    expect(first.isError).toBe(false)
    const second = await run('x + 2')
    const content = structured(second)
    expect(content).toMatchObject({
      status: 'ok',
      value: { 'text/plain': '42' },
      stdout: '',
      error: null,
      capability_calls: [],
      state_lost: false,
    })
    expect(content.session_id).toBe(structured(first).session_id)
    expect(structured(first).stdout).toBe('set x\n')
    expect(resultText(second)).toBe('42')
  })

  test('an exception is a tool error carrying the Python error', async () => {
    const result = await run('1 / 0')
    expect(result.isError).toBe(true)
    expect(structured(result)).toMatchObject({ status: 'error', error: { ename: 'ZeroDivisionError' } })
    expect(resultText(result)).toContain('ZeroDivisionError')
  })

  test('capability calls are reported, and list_capabilities says what the code may call', async () => {
    const listing = await client.callTool({ name: 'list_capabilities', arguments: {} })
    const names = (structured(listing).capabilities as Array<{ python: string }>).map((entry) => entry.python)
    expect(names).toContain('read_file')
    expect(names).not.toContain('write_file')
    expect(structured(listing).level).toBe('restricted')
    const result = await run('read_file("notes.txt")')
    expect(structured(result)).toMatchObject({
      value: { 'text/plain': "'hello from a file'" },
      capability_calls: [{ capability: 'fs.read_file', args: { path: 'notes.txt' } }],
    })
  })

  test('displayed images come back as image content', async () => {
    const result = await run(
      [
        'import base64',
        'class Pixel:',
        `    def _repr_png_(self): return base64.b64decode("${PIXEL_PNG_BASE64}")`,
        'display(Pixel())',
      ].join('\n'),
    )
    const images = (result.content as Array<{ type: string; data?: string; mimeType?: string }>).filter(
      (block) => block.type === 'image',
    )
    expect(images).toEqual([{ type: 'image', data: PIXEL_PNG_BASE64, mimeType: 'image/png' }])
    expect(structured(result).displays).toEqual([
      { mime_types: expect.arrayContaining(['image/png']), text: expect.any(String), image: 0 },
    ])
  })

  test('a long cell streams its output as progress notifications before the result', async () => {
    const messages: string[] = []
    const result = await client.callTool(
      {
        name: 'run_python',
        arguments: {
          code: 'import time\nfor i in range(3):\n    print(f"tick {i}", flush=True)\n    time.sleep(0.3)',
        },
      },
      { onprogress: (progress) => messages.push(String(progress.message)) },
    )
    expect(result.isError).toBe(false)
    expect(messages.join('')).toBe('tick 0\ntick 1\ntick 2\n')
    expect(messages.length).toBeGreaterThanOrEqual(2)
  })

  test('cancelling the request interrupts the cell; the namespace survives', async () => {
    const abort = new AbortController()
    const call = client.callTool(
      { name: 'run_python', arguments: { code: 'import time\nbefore = "kept"\ntime.sleep(60)\nafter = 1' } },
      { signal: abort.signal },
    )
    // Let the cell reach its sleep before the request is cancelled.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    abort.abort()
    await expect(call).rejects.toThrow()
    const started = Date.now()
    const check = await run('(before, "after" in dir())')
    expect(Date.now() - started).toBeLessThan(20_000)
    expect(structured(check).value).toEqual({ 'text/plain': "('kept', False)" })
  })

  test('input() without elicitation support fails at once with a clear EOFError', async () => {
    const started = Date.now()
    const result = await run('input("Name? ")')
    expect(Date.now() - started).toBeLessThan(10_000)
    expect(structured(result)).toMatchObject({ status: 'error', error: { ename: 'EOFError' } })
    expect(resultText(result)).toContain('supports elicitation')
  })

  test('an unknown session_id is a clear tool error', async () => {
    const result = await run('1', { session_id: 'ses_00000000dead' })
    expect(result.isError).toBe(true)
    expect(resultText(result)).toBe('no open Python session has the id ses_00000000dead')
  })

  test('reset_session empties the namespace', async () => {
    await run('keep = 1')
    const reset = await client.callTool({ name: 'reset_session', arguments: {} })
    expect(structured(reset).reset).toBe(true)
    const result = await run('"keep" in dir()')
    expect(structured(result).value).toEqual({ 'text/plain': 'False' })
  })
})

describe('capsule mcp over stdio, with a client that supports elicitation', () => {
  test('input() is answered through elicitation, and the cell carries on', async () => {
    const prompts: string[] = []
    const eliciting = await connectStdio([], { capabilities: { elicitation: { form: {} } } })
    eliciting.setRequestHandler('elicitation/create', async (request) => {
      prompts.push(String(request.params.message))
      return { action: 'accept', content: { answer: 'Ada' } }
    })
    try {
      const result = await eliciting.callTool({
        name: 'run_python',
        arguments: { code: 'print("before")\nname = input("Name? ")\nprint("after")\nf"hello {name}"' },
      })
      expect(prompts).toEqual(['Name? '])
      expect(structured(result)).toMatchObject({
        status: 'ok',
        stdout: 'before\nafter\n',
        value: { 'text/plain': "'hello Ada'" },
      })
    } finally {
      await eliciting.close()
    }
  })

  test('a declined elicitation raises EOFError in the cell', async () => {
    const eliciting = await connectStdio([], { capabilities: { elicitation: {} } })
    eliciting.setRequestHandler('elicitation/create', async () => ({ action: 'decline' }))
    try {
      const result = await eliciting.callTool({
        name: 'run_python',
        arguments: {
          code: 'try:\n    input("Secret? ")\nexcept EOFError as error:\n    caught = str(error)\ncaught',
        },
      })
      expect(structured(result).value).toEqual({ 'text/plain': "'the user declined to answer input()'" })
    } finally {
      await eliciting.close()
    }
  })
})

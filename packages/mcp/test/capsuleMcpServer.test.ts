import { Capsule } from '@capsule/core'
import { Client } from '@modelcontextprotocol/client'
import { InMemoryTransport } from '@modelcontextprotocol/server'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { CapsuleMcpServer } from '../src/index.js'
import { resultText, structured } from './capsuleMcpHarness.js'
import { TEST_PYTHON } from './helpers.js'

// Child processes (tsx compiling the CLI, a Python worker, an MCP server) start slowly on a loaded machine.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 })

// CapsuleMcpServer in process, over the SDK's in-memory transport, with a real Python worker: the
// session limits a transport cannot show.

let capsule: Capsule

beforeAll(() => {
  capsule = new Capsule({ level: 'standard', sandbox: 'none', python: TEST_PYTHON })
})

afterAll(async () => {
  await capsule?.close()
})

async function connect(server: CapsuleMcpServer, scope: string): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
  await server.createServer(scope).connect(serverSide)
  const client = new Client({ name: 'in-memory', version: '1.0.0' })
  await client.connect(clientSide)
  return client
}

describe('CapsuleMcpServer', () => {
  test('past maxSessions a new MCP session gets a tool error with the code; the open one carries on', async () => {
    const server = new CapsuleMcpServer(capsule, { maxSessions: 1 })
    const first = await connect(server, 'a')
    const second = await connect(server, 'b')
    try {
      await first.callTool({ name: 'run_python', arguments: { code: 'v = 1' } })
      const refused = await second.callTool({ name: 'run_python', arguments: { code: '1' } })
      expect(refused.isError).toBe(true)
      expect(refused._meta).toEqual({ 'capsule/error_code': 'LIMIT_EXCEEDED' })
      expect(resultText(refused)).toContain('maxSessions 1')
      const still = await first.callTool({ name: 'run_python', arguments: { code: 'v + 1' } })
      expect(structured(still).value).toEqual({ 'text/plain': '2' })
      expect(server.sessions).toBe(1)
    } finally {
      await first.close()
      await second.close()
      await server.close()
    }
  })

  test('an idle session is closed after idleTimeoutMs, and the next call starts a fresh one', async () => {
    const server = new CapsuleMcpServer(capsule, { idleTimeoutMs: 300 })
    const client = await connect(server, 'idle')
    try {
      const before = await client.callTool({ name: 'run_python', arguments: { code: 'gone = True' } })
      expect(server.sessions).toBe(1)
      await new Promise((resolve) => setTimeout(resolve, 1500))
      expect(server.sessions).toBe(0)
      const after = await client.callTool({ name: 'run_python', arguments: { code: '"gone" in dir()' } })
      expect(structured(after).value).toEqual({ 'text/plain': 'False' })
      expect(structured(after).session_id).not.toBe(structured(before).session_id)
    } finally {
      await client.close()
      await server.close()
    }
  })

  test('endScope closes that MCP session’s Python session; close() closes the rest', async () => {
    const server = new CapsuleMcpServer(capsule)
    const one = await connect(server, 'one')
    const two = await connect(server, 'two')
    try {
      await one.callTool({ name: 'run_python', arguments: { code: '1' } })
      await two.callTool({ name: 'run_python', arguments: { code: '2' } })
      expect(server.sessions).toBe(2)
      await server.endScope('one')
      expect(server.sessions).toBe(1)
      await server.close()
      expect(server.sessions).toBe(0)
    } finally {
      await one.close()
      await two.close()
    }
  })

  test('a session id works only in the MCP session that got it', async () => {
    const server = new CapsuleMcpServer(capsule)
    const owner = await connect(server, 'owner')
    const other = await connect(server, 'other')
    try {
      const mine = await owner.callTool({
        name: 'run_python',
        arguments: { code: 'secret = 7', session_id: 'new' },
      })
      const id = String(structured(mine).session_id)
      const again = await owner.callTool({
        name: 'run_python',
        arguments: { code: 'secret', session_id: id },
      })
      expect(structured(again).value).toEqual({ 'text/plain': '7' })
      const stolen = await other.callTool({
        name: 'run_python',
        arguments: { code: 'secret', session_id: id },
      })
      expect(stolen.isError).toBe(true)
      expect(resultText(stolen)).toBe(`no open Python session has the id ${id}`)
      await server.endScope('owner')
      expect(server.sessions).toBe(0)
    } finally {
      await owner.close()
      await other.close()
      await server.close()
    }
  })

  test('options are checked eagerly', () => {
    expect(() => new CapsuleMcpServer(capsule, { maxSessions: 0 })).toThrow(
      'CapsuleMcpServer: options.maxSessions Too small: expected number to be >=1',
    )
  })
})

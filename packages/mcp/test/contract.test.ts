import { runProviderContract } from '@capsule/contract-tests'
import { expect } from 'vitest'
import { mcpProvider } from '../src/index.js'
import { TEST_PYTHON, toolServerCommand } from './helpers.js'

// mcpProvider under the shared provider contract, over a real MCP server spawned over stdio. The contract
// covers the tools it can drive repeatably; the others (a tool error, a server that exits, a deliberately
// unannotated tool) have their own tests.

runProviderContract(
  () =>
    mcpProvider({
      name: 'tools',
      ...toolServerCommand(),
      stderr: 'ignore',
      tools: {
        getWeather: { enabled: false },
        pixel: { enabled: false },
        fail: { enabled: false },
        die: { enabled: false },
        pid: { enabled: false },
      },
    }),
  {
    python: TEST_PYTHON,
    capabilities: {
      add: {
        valid: { a: 2, b: 3 },
        invalid: { a: 'two' },
        noSlowCall: 'the server adds two numbers at once',
        check: (value) => expect(value).toEqual({ sum: 5 }),
      },
      echo: {
        valid: { text: 'hello' },
        // The server refuses this text with a tool error, which Python sees as CapabilityError INTERNAL.
        errors: [{ args: { text: 'forbidden' }, code: 'INTERNAL' }],
        noSlowCall: 'the server answers at once',
        check: (value) => expect(value).toBe('hello'),
      },
      slow: {
        valid: { ms: 0 },
        slow: { ms: 30_000 },
        progress: { ms: 200 },
        check: (value) => expect(value).toBe('waited 0 ms'),
      },
    },
  },
)

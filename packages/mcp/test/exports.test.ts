import { expect, test } from 'vitest'
import packageJson from '../package.json' with { type: 'json' }
import * as api from '../src/index.js'

test('the public surface of @capsule/mcp is exactly this list', () => {
  expect(Object.keys(api).sort()).toEqual([
    'CapsuleMcpServer',
    'DEFAULT_HTTP_SESSION_IDLE_MS',
    'DEFAULT_MAX_HTTP_SESSIONS',
    'DEFAULT_MAX_SESSIONS',
    'DEFAULT_PAUSED_CELL_TTL_MS',
    'DEFAULT_SESSION_IDLE_MS',
    'DESTRUCTIVE_OR_OPEN_WORLD_LEVEL',
    'MAX_DESCRIPTION_CHARS',
    'MCP_PACKAGE_VERSION',
    'mcpProvider',
    'mcpProviderOptionsSchema',
    'runPythonOutputSchema',
    'serveCapsuleHttp',
    'serveCapsuleStdio',
  ])
})

test('MCP_PACKAGE_VERSION is the package version', () => {
  expect(api.MCP_PACKAGE_VERSION).toBe(packageJson.version)
})

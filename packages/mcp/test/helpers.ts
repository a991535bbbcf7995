import { fileURLToPath } from 'node:url'

/** The repository root: children run with it as cwd, so `--import tsx` resolves. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** The interpreter of the end-to-end tests (unsandboxed: sandboxing is not what these tests are about). */
export const TEST_PYTHON = process.env.CAPSULE_PYTHON ?? 'python3'

/** The SDK-written MCP server of the tests, as mcpProvider's `command` options. */
export function toolServerCommand(): { command: string; args: string[]; cwd: string } {
  return {
    command: process.execPath,
    args: ['--import', 'tsx', fileURLToPath(new URL('./fixtures/toolServer.ts', import.meta.url))],
    cwd: REPO_ROOT,
  }
}

/** The hand-written server that lists hostile tools. */
export function hostileServerCommand(): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: [fileURLToPath(new URL('./fixtures/hostileServer.mjs', import.meta.url))],
  }
}

/** The published reference server @modelcontextprotocol/server-everything, over stdio. */
export function everythingServerCommand(): { command: string; args: string[] } {
  return {
    command: process.execPath,
    args: [
      fileURLToPath(
        new URL('../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url),
      ),
      'stdio',
    ],
  }
}

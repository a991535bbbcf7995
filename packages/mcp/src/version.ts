import { readFileSync } from 'node:fs'

/** The version of @capsule/mcp, read from its package.json (one source of truth). */
export const MCP_PACKAGE_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version

// Public API of @capsule/mcp. Anything exported here is public: add intentionally.

// MCP servers' tools as capabilities.
export type { McpProviderDefinition, SkippedTool } from './provider/mcpProvider.js'
export { MAX_DESCRIPTION_CHARS, mcpProvider } from './provider/mcpProvider.js'
export type { McpProviderOptions, McpToolOverride } from './provider/mcpProviderOptions.js'
export { mcpProviderOptionsSchema } from './provider/mcpProviderOptions.js'
export { DESTRUCTIVE_OR_OPEN_WORLD_LEVEL } from './provider/toolLevel.js'

// Capsule as an MCP server.
export type { CapsuleMcpServerOptions } from './server/capsuleMcpServer.js'
export {
  CapsuleMcpServer,
  DEFAULT_MAX_SESSIONS,
  DEFAULT_PAUSED_CELL_TTL_MS,
  DEFAULT_SESSION_IDLE_MS,
} from './server/capsuleMcpServer.js'
export type { CapsuleHttpHandle, ServeCapsuleHttpOptions } from './server/serveCapsuleHttp.js'
export {
  DEFAULT_HTTP_SESSION_IDLE_MS,
  DEFAULT_MAX_HTTP_SESSIONS,
  serveCapsuleHttp,
} from './server/serveCapsuleHttp.js'
export type { CapsuleStdioHandle, ServeCapsuleStdioOptions } from './server/serveCapsuleStdio.js'
export { serveCapsuleStdio } from './server/serveCapsuleStdio.js'
export type { RunPythonOutput } from './server/toolSchemas.js'
export { runPythonOutputSchema } from './server/toolSchemas.js'
export { MCP_PACKAGE_VERSION } from './version.js'

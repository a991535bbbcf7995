import type { CapabilityAnnotations, SecurityLevel } from '@capsule/provider-sdk'
import { compareLevels } from '@capsule/provider-sdk'

/** MCP tool annotations as a server sends them: hints, not facts. */
export interface McpToolAnnotations {
  readOnlyHint?: boolean
  destructiveHint?: boolean
  idempotentHint?: boolean
  openWorldHint?: boolean
}

/** The level a tool needs when its hints say it may destroy data or reach the outside world. */
export const DESTRUCTIVE_OR_OPEN_WORLD_LEVEL: SecurityLevel = 'trusted'

/**
 * The hints read pessimistically, as the MCP spec defaults them: a tool is destructive unless it says it is
 * read-only or not destructive, and open-world unless it says it is not. Only strictly boolean hints count.
 */
export function pessimisticAnnotations(
  hints: McpToolAnnotations | undefined,
): Required<CapabilityAnnotations> {
  const readOnly = hints?.readOnlyHint === true
  return {
    readOnly,
    destructive: !readOnly && hints?.destructiveHint !== false,
    openWorld: hints?.openWorldHint !== false,
    idempotent: readOnly || hints?.idempotentHint === true,
  }
}

/**
 * The level of a tool: the host's level for its server, raised to `trusted` when the (pessimistic) hints
 * say destructive or open-world. Hints can only raise it: an untrusted server cannot talk its way down.
 * A host's per-tool `override` is final, either way.
 */
export function toolLevel(
  hostLevel: SecurityLevel,
  hints: McpToolAnnotations | undefined,
  override?: SecurityLevel,
): SecurityLevel {
  if (override !== undefined) return override
  const { destructive, openWorld } = pessimisticAnnotations(hints)
  if (!destructive && !openWorld) return hostLevel
  return compareLevels(hostLevel, DESTRUCTIVE_OR_OPEN_WORLD_LEVEL) >= 0
    ? hostLevel
    : DESTRUCTIVE_OR_OPEN_WORLD_LEVEL
}

/** Longest capability name a tool gets; longer tool names are cut (and skipped if that collides). */
export const MAX_CAPABILITY_NAME_CHARS = 64

/**
 * The capability name of an MCP tool: lowercase snake case (`getWeather` → `get_weather`,
 * `get-sum` → `get_sum`), or undefined when nothing usable is left (`!!!`).
 */
export function capabilityName(toolName: string): string | undefined {
  const snake = toolName
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_+|_+$/g, '')
  if (snake === '') return undefined
  const name = /^[0-9]/.test(snake) ? `t_${snake}` : snake
  return name.slice(0, MAX_CAPABILITY_NAME_CHARS).replace(/_+$/, '')
}

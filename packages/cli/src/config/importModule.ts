import path from 'node:path'
import { pathToFileURL } from 'node:url'

// A variable, so TypeScript does not require tsx's types: it is an optional dependency.
const TSX_API = 'tsx/esm/api'

/**
 * Imports a config file or a provider module. TypeScript files go through `tsx` when it is installed
 * (`tsImport`), else through Node's own type stripping when this Node has it; otherwise the error says
 * what to install.
 */
export async function importModule(specifier: string): Promise<unknown> {
  const url = path.isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier
  if (!/\.[cm]?ts$/.test(specifier)) return import(url)
  let tsx: { tsImport(url: string, parent: string): Promise<unknown> } | undefined
  try {
    tsx = (await import(TSX_API)) as typeof tsx
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error
  }
  if (tsx) return unwrapInterop(await tsx.tsImport(url, import.meta.url))
  try {
    return await import(url)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_UNKNOWN_FILE_EXTENSION') {
      throw new Error(
        'a TypeScript config needs the tsx package (npm install --save-dev tsx) or Node 22.6+ type stripping; or write capsule.config.mjs',
      )
    }
    throw error
  }
}

// tsx may load a .ts file as CommonJS, and its `export default` then arrives one level down
// (`{ default: { default: config } }`). No config key is named `default`, so unwrapping is safe.
function unwrapInterop(loaded: unknown): unknown {
  const inner = (loaded as { default?: unknown } | null)?.default
  if (typeof inner === 'object' && inner !== null && 'default' in inner) {
    return { ...(loaded as object), default: (inner as { default: unknown }).default }
  }
  return loaded
}

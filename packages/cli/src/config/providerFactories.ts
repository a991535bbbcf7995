import path from 'node:path'
import type { ProviderFactory } from '@capsule/core'
import { fsProvider } from '@capsule/providers-fs'
import { httpProvider } from '@capsule/providers-http'
import { shellProvider } from '@capsule/providers-shell'

// Roots in a config file are relative to the file, not to wherever `capsule` was started.
function withRootsResolved(options: unknown, baseDir: string): unknown {
  if (typeof options !== 'object' || options === null) return options
  const roots = (options as { roots?: unknown }).roots
  if (!Array.isArray(roots)) return options
  return {
    ...options,
    roots: roots.map((root) =>
      typeof root === 'object' && root !== null && typeof (root as { path?: unknown }).path === 'string'
        ? { ...root, path: path.resolve(baseDir, (root as { path: string }).path) }
        : root,
    ),
  }
}

/**
 * The first-party providers a config may name by key: `fs`, `http` and `shell`, each given its options
 * (root paths resolved against the config file's directory).
 */
export const FIRST_PARTY_PROVIDERS: Record<string, ProviderFactory> = {
  fs: (options, context) => fsProvider(withRootsResolved(options, context.baseDir) as never),
  http: (options) => httpProvider(options as never),
  shell: (options, context) => shellProvider(withRootsResolved(options, context.baseDir) as never),
}

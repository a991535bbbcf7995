import path from 'node:path'
import type { ProviderFactory } from '@capsule/core'

/** The provider keys a config may use without a `module`: the first-party providers. */
export const FIRST_PARTY_PROVIDER_NAMES = ['fs', 'http', 'shell'] as const

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
 * The factories of the first-party providers (`fs`, `http`, `shell`) for the config loader, each given its
 * options with root paths resolved against the config file's directory. Only the packages named in `needed`
 * are imported (undici alone costs a few hundred milliseconds of start-up); the others are never called.
 */
export async function loadFirstPartyProviders(
  needed: Iterable<string>,
): Promise<Record<string, ProviderFactory>> {
  const wanted = new Set(needed)
  const factories: Record<string, ProviderFactory> = {}
  for (const name of FIRST_PARTY_PROVIDER_NAMES) {
    factories[name] = () => {
      throw new Error(`the ${name} provider was not loaded`)
    }
  }
  if (wanted.has('fs')) {
    const { fsProvider } = await import('@capsule/providers-fs')
    factories.fs = (options, context) => fsProvider(withRootsResolved(options, context.baseDir) as never)
  }
  if (wanted.has('http')) {
    const { httpProvider } = await import('@capsule/providers-http')
    factories.http = (options) => httpProvider(options as never)
  }
  if (wanted.has('shell')) {
    const { shellProvider } = await import('@capsule/providers-shell')
    factories.shell = (options, context) =>
      shellProvider(withRootsResolved(options, context.baseDir) as never)
  }
  return factories
}

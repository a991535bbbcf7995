import { execFileSync } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { type CapabilityContext, isCapabilityError, type ProviderDefinition } from '@capsule/provider-sdk'
import { afterEach, expect } from 'vitest'
import { createFsProvider } from '../../src/fsProvider.js'
import { type FsProviderOptions, resolveFsOptions } from '../../src/fsProviderOptions.js'
import type { FsRaceHooks } from '../../src/secureOpen.js'
import { makeContext } from './capabilityContext.js'

const cleanups: string[] = []
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((dir) => fs.rm(dir, { recursive: true, force: true })))
})

/** A temp directory holding `root/` (exposed) and `outside/` (a secret next to it), removed after each test. */
export async function makeWorkspace(): Promise<{ base: string; root: string; outside: string }> {
  const base = await fs.mkdtemp(path.join(os.tmpdir(), 'capsule-fs-'))
  cleanups.push(base)
  const root = path.join(base, 'root')
  const outside = path.join(base, 'outside')
  await fs.mkdir(root)
  await fs.mkdir(outside)
  await fs.writeFile(path.join(outside, 'secret.txt'), 'TOP SECRET')
  return { base, root, outside }
}

/** Calls one capability as the registry would: arguments parsed by its input schema, output checked. */
export type Call = (
  capability: string,
  args: Record<string, unknown>,
  ctx?: CapabilityContext,
) => Promise<unknown>

/** Builds the provider over `options` (with optional race hooks) and a `call` function for its capabilities. */
export function makeProvider(
  options: FsProviderOptions,
  hooks?: FsRaceHooks,
): { provider: ProviderDefinition; call: Call } {
  const provider = createFsProvider({ options: resolveFsOptions(options), hooks })
  const call: Call = async (capability, args, ctx) => {
    const definition = provider.capabilities.find((candidate) => candidate.name === capability)
    if (definition === undefined) throw new Error(`no capability ${capability}`)
    const context = ctx ?? makeContext(`fs.${capability}`).ctx
    const result = await definition.handler(definition.input.parse(args), context)
    return definition.output.parse(result)
  }
  return { provider, call }
}

/** Asserts that `promise` rejects with a CapabilityError of `code`, and returns the error. */
export async function expectCapabilityError(promise: Promise<unknown>, code: string): Promise<Error> {
  const error = await promise.then(
    (value) => {
      throw new Error(`expected ${code}, but the call returned ${JSON.stringify(value)}`)
    },
    (reason: unknown) => reason,
  )
  if (!isCapabilityError(error)) throw error
  expect(error.code, error.message).toBe(code)
  return error
}

/** Creates a FIFO with the real `mkfifo` command. */
export function mkfifo(file: string): void {
  execFileSync('mkfifo', [file])
}

/** The names in `dir`, sorted. */
export async function namesIn(dir: string): Promise<string[]> {
  return (await fs.readdir(dir)).sort()
}

import fs from 'node:fs/promises'
import path from 'node:path'
import { ProviderDefinitionError } from '@capsule/provider-sdk'
import { describe, expect, test } from 'vitest'
import { fsProvider } from '../src/fsProvider.js'
import {
  DEFAULT_MAX_LIST_ENTRIES,
  DEFAULT_MAX_READ_BYTES,
  DEFAULT_MAX_WRITE_BYTES,
  resolveFsOptions,
} from '../src/fsProviderOptions.js'
import { makeWorkspace } from './support/workspace.js'

function expectOptionsError(options: unknown, message: string | RegExp): void {
  let thrown: unknown
  try {
    // biome-ignore lint/suspicious/noExplicitAny: bad options on purpose.
    fsProvider(options as any)
  } catch (error) {
    thrown = error
  }
  expect(thrown).toBeInstanceOf(ProviderDefinitionError)
  expect((thrown as Error).message).toMatch(message)
}

describe('fsProvider options', () => {
  test('fills in the documented defaults and resolves the root to its real path', async () => {
    const { base, root } = await makeWorkspace()
    await fs.symlink(root, path.join(base, 'link-to-root'))
    const resolved = resolveFsOptions({ roots: [{ path: path.join(base, 'link-to-root') }] })
    expect(resolved.maxReadBytes).toBe(DEFAULT_MAX_READ_BYTES)
    expect(resolved.maxWriteBytes).toBe(DEFAULT_MAX_WRITE_BYTES)
    expect(resolved.maxListEntries).toBe(DEFAULT_MAX_LIST_ENTRIES)
    expect(DEFAULT_MAX_READ_BYTES).toBe(10 * 1024 * 1024)
    expect(resolved.roots[0]).toMatchObject({ realPath: await fs.realpath(root), write: false, index: 0 })
  })

  test('refuses options without a root', () => {
    expectOptionsError({ roots: [] }, 'fsProvider: options.roots at least one root is required (got [])')
    expectOptionsError(undefined, /fsProvider: options/)
  })

  test('refuses a root that does not exist or is not a directory', async () => {
    const { root } = await makeWorkspace()
    expectOptionsError({ roots: [{ path: path.join(root, 'missing') }] }, /roots\[0\]\.path does not exist/)
    await fs.writeFile(path.join(root, 'file'), 'x')
    expectOptionsError({ roots: [{ path: path.join(root, 'file') }] }, /roots\[0\]\.path must be a directory/)
  })

  test('requires a unique name on every root but the first', async () => {
    const { root, outside } = await makeWorkspace()
    expectOptionsError({ roots: [{ path: root }, { path: outside }] }, /roots\[1\]\.name is required/)
    expectOptionsError(
      {
        roots: [
          { path: root, name: 'a' },
          { path: outside, name: 'a' },
        ],
      },
      /roots\[1\]\.name "a" is used by two roots/,
    )
    expectOptionsError({ roots: [{ path: root, name: 'no spaces' }] }, /roots\[0\]\.name must be letters/)
  })

  test('refuses bad caps, empty allow lists, absolute globs and unknown keys with the offending field', async () => {
    const { root } = await makeWorkspace()
    expectOptionsError(
      { roots: [{ path: root }], maxReadBytes: 0 },
      /maxReadBytes maxReadBytes must be an integer ≥ 1/,
    )
    expectOptionsError(
      { roots: [{ path: root }], maxListEntries: 1.5 },
      /maxListEntries maxListEntries must be an integer/,
    )
    expectOptionsError(
      { roots: [{ path: root, allow: [] }] },
      /roots\[0\]\.allow must list at least one glob/,
    )
    expectOptionsError(
      { roots: [{ path: root, deny: ['/etc/**'] }] },
      /roots\[0\]\.deny\[0\] globs match root-relative/,
    )
    expectOptionsError({ roots: [{ path: root, writable: true }] }, /roots\[0\]/)
    expectOptionsError({ roots: [{ path: root }], allowHiden: ['.env'] }, /options/)
  })
})

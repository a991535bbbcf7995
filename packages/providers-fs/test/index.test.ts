import { readFileSync } from 'node:fs'
import * as sdk from '@capsule/provider-sdk'
import { describe, expect, test } from 'vitest'
import * as api from '../src/index.js'
import { makeWorkspace } from './support/workspace.js'

describe('@capsule/providers-fs public surface', () => {
  test('exports exactly the documented names', () => {
    expect(Object.keys(api).sort()).toEqual([
      'DEFAULT_HIDDEN_PATTERNS',
      'DEFAULT_MAX_LIST_ENTRIES',
      'DEFAULT_MAX_READ_BYTES',
      'DEFAULT_MAX_WRITE_BYTES',
      'FS_PROVIDER_VERSION',
      'fsProvider',
    ])
  })

  test('the provider version is the package version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string
    }
    expect(api.FS_PROVIDER_VERSION).toBe(pkg.version)
  })

  test('defines the six fs capabilities with their levels, annotations and no secret arguments', async () => {
    const { root } = await makeWorkspace()
    const provider = api.fsProvider({ roots: [{ path: root }] })
    expect(provider.name).toBe('fs')
    expect(provider.version).toBe(api.FS_PROVIDER_VERSION)
    const summary = provider.capabilities.map((capability) => ({
      name: capability.name,
      level: capability.level,
      readOnly: capability.annotations?.readOnly,
      destructive: capability.annotations?.destructive,
      secretArgs: capability.secretArgs,
    }))
    expect(summary).toEqual([
      { name: 'read_file', level: 'restricted', readOnly: true, destructive: false, secretArgs: [] },
      { name: 'write_file', level: 'standard', readOnly: false, destructive: true, secretArgs: [] },
      { name: 'list_dir', level: 'restricted', readOnly: true, destructive: false, secretArgs: [] },
      { name: 'file_info', level: 'restricted', readOnly: true, destructive: false, secretArgs: [] },
      { name: 'delete_path', level: 'standard', readOnly: false, destructive: true, secretArgs: [] },
      { name: 'make_dir', level: 'standard', readOnly: false, destructive: false, secretArgs: [] },
    ])
  })

  test('the default hidden patterns cannot be changed at run time', () => {
    expect(Object.isFrozen(api.DEFAULT_HIDDEN_PATTERNS)).toBe(true)
    expect(api.DEFAULT_HIDDEN_PATTERNS).toContain('.*')
    // The SDK's constant itself, which the shell provider masks too: the two cannot drift apart.
    expect(api.DEFAULT_HIDDEN_PATTERNS).toBe(sdk.DEFAULT_HIDDEN_PATTERNS)
  })
})

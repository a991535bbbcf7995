import { chmodSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { ProviderDefinitionError } from '@capsule/provider-sdk'
import { beforeEach, describe, expect, test } from 'vitest'
import { shellProvider, shellSandboxInForce } from '../src/index.js'
import { sandboxOwned, tempDir } from './tempDir.js'
import { bwrapAvailable } from './testContext.js'

let root: string
beforeEach(() => {
  root = tempDir('shell-options-')
})

const configure = (options: Record<string, unknown>) => () =>
  shellProvider({ roots: [{ path: root }], sandbox: 'none', commands: { ls: {} }, ...options } as never)

describe('shellProvider options', () => {
  test('refuses a shell unless it is acknowledged as dangerous', () => {
    for (const name of ['sh', 'bash', 'dash', 'env', 'xargs', 'perl', 'python3']) {
      const rule = {}
      expect(configure({ commands: { [name]: rule } }), name).toThrow(/can run arbitrary programs/)
    }
    expect(() => configure({ commands: { sh: { dangerous: true } } })()).not.toThrow()
  })

  test('refuses a dangerous program allowed under an innocent name', () => {
    expect(configure({ commands: { lister: { path: '/bin/sh' } } })).toThrow(
      /dash|sh can run arbitrary programs/,
    )
  })

  test('refuses a program that lives inside a root', () => {
    const planted = path.join(root, 'git')
    writeFileSync(planted, '#!/bin/sh\necho planted\n')
    chmodSync(planted, 0o755)
    expect(configure({ commands: { git: { path: planted } } })).toThrow(/inside the root/)
  })

  test('refuses a command that is not on the trusted search path', () => {
    expect(configure({ commands: { 'no-such-program-xyz': {} } })).toThrow(
      /no executable "no-such-program-xyz"/,
    )
  })

  test('refuses loader, git and interpreter variables in envAllow', () => {
    const names = ['LD_PRELOAD', 'GIT_DIR', 'PYTHONPATH', 'NODE_OPTIONS', 'BASH_ENV', 'IFS', 'PATH']
    // tar and getopt read these: --to-command from TAR_OPTIONS, a remote shell from RSH, operands for options.
    for (const name of [...names, 'TAR_OPTIONS', 'RSH', 'TAPE', 'POSIXLY_CORRECT']) {
      expect(configure({ envAllow: [name] }), name).toThrow(new RegExp(`envAllow must not list ${name}`))
    }
  })

  test('refuses git subcommands that run programs unless acknowledged', () => {
    expect(configure({ commands: { git: { subcommands: ['status', 'push'] } } })).toThrow(/git push/)
    expect(configure({ commands: { git: { subcommands: ['status', 'commit'] } } })).not.toThrow()
    expect(configure({ commands: { git: { subcommands: ['push'], dangerous: true } } })).not.toThrow()
  })

  test('names the bad option and the value it got', () => {
    expect(configure({ timeoutMs: 0 })).toThrow(
      'shellProvider: options.timeoutMs must be an integer ≥ 1 (got 0)',
    )
    expect(configure({ roots: [] })).toThrow(/options.roots must list at least one root/)
    expect(configure({ roots: [{ path: '/' }] })).toThrow(/must not be \//)
    expect(configure({ roots: [{ path: path.join(root, 'missing') }] })).toThrow(/does not exist/)
    expect(configure({ bogus: 1 })).toThrow(/unknown option\(s\): bogus/)
    expect(configure({ commands: { ls: { preset: 'make' } } })).toThrow(/preset must be one of/)
    expect(configure({ commands: { 'a/b': {} } })).toThrow(ProviderDefinitionError)
  })

  test('uses bubblewrap under auto when it works, and reports the sandbox in force', () => {
    sandboxOwned(root)
    const auto = shellProvider({ roots: [{ path: root }], commands: { ls: {} } })
    const expected = bwrapAvailable ? 'bwrap' : 'none'
    expect(shellSandboxInForce(auto)).toBe(expected)
    expect(auto.description).toMatch(new RegExp(`sandbox: ${expected}`))
    const none = shellProvider({ roots: [{ path: root }], commands: { ls: {} }, sandbox: 'none' })
    expect(shellSandboxInForce(none)).toBe('none')
    expect(shellSandboxInForce({ name: 'other', version: '1.0.0', capabilities: [] })).toBeUndefined()
  })

  test('declares run_command at level trusted with the Python parameter order', () => {
    const provider = configure({})()
    const capability = provider.capabilities[0]!
    expect(provider.name).toBe('shell')
    expect(capability).toMatchObject({
      name: 'run',
      python: 'run_command',
      level: 'trusted',
      pythonResult: 'completed_process',
    })
    expect(Object.keys(capability.input.shape)).toEqual(['argv', 'cwd', 'env', 'stdin', 'timeout', 'check'])
  })
})

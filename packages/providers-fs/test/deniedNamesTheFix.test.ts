import fs from 'node:fs/promises'
import path from 'node:path'
import type { CapabilityError } from '@capsule/provider-sdk'
import { describe, expect, test } from 'vitest'
import { expectCapabilityError as expectError, makeProvider, makeWorkspace } from './support/workspace.js'

const expectCapabilityError = async (promise: Promise<unknown>, code: string) =>
  (await expectError(promise, code)) as CapabilityError

describe('a rule refusal names the option and value that would allow it', () => {
  test('each rule kind names its option of the right root, and following the advice allows the call', async () => {
    const { root } = await makeWorkspace()
    await fs.mkdir(path.join(root, 'logs'))
    await fs.writeFile(path.join(root, 'logs', 'a.log'), 'log')
    await fs.writeFile(path.join(root, '.env'), 'TOKEN=1')
    await fs.writeFile(path.join(root, 'notes.txt'), 'notes')
    const strict = makeProvider({
      roots: [{ path: root, write: false, deny: ['logs/**'], allow: ['*.txt', 'logs/**', '.env'] }],
    })
    const deny = await expectCapabilityError(strict.call('read_file', { path: 'logs/a.log' }), 'DENIED')
    expect(deny.message).toContain('`roots[0].deny` pattern "logs/**"')
    expect(deny.details).toEqual({ rule: 'deny', option: 'roots[0].deny', value: 'logs/**' })

    const hidden = await expectCapabilityError(strict.call('read_file', { path: '.env' }), 'DENIED')
    expect(hidden.message).toContain('list ".env" in the fs provider\'s `allowHidden` option')
    expect(hidden.details).toEqual({ rule: 'hidden', option: 'allowHidden', value: '.env' })

    await fs.writeFile(path.join(root, 'data.csv'), 'a,b')
    const allow = await expectCapabilityError(strict.call('read_file', { path: 'data.csv' }), 'DENIED')
    expect(allow.message).toContain(
      'add "data.csv" (or a glob matching it) to the fs provider\'s `roots[0].allow`',
    )

    const readOnly = await expectCapabilityError(
      strict.call('write_file', { path: 'notes.txt', data: 'x' }),
      'DENIED',
    )
    expect(readOnly.message).toContain("set `write: true` on the fs provider's `roots[0]`")
    expect(readOnly.details).toEqual({ rule: 'read-only', option: 'roots[0].write', value: 'true' })

    const relaxed = makeProvider({ roots: [{ path: root, write: true }], allowHidden: ['.env'] })
    expect(await relaxed.call('read_file', { path: '.env' })).toBe('TOKEN=1')
    await relaxed.call('write_file', { path: 'notes.txt', data: 'x' })
    expect(await fs.readFile(path.join(root, 'notes.txt'), 'utf8')).toBe('x')
  })

  test('the message never carries the root’s host path', async () => {
    const { root } = await makeWorkspace()
    const { call } = makeProvider({ roots: [{ path: root, write: false }] })
    const error = await expectCapabilityError(call('write_file', { path: 'x.txt', data: 'x' }), 'DENIED')
    expect(error.message).not.toContain(root)
  })
})

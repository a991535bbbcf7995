import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { expectCapabilityError, makeProvider, makeWorkspace, namesIn } from '../support/workspace.js'

describe('fs.make_dir', () => {
  test('creates a directory with its missing parents, and accepts an existing one', async () => {
    const { root } = await makeWorkspace()
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    expect(await call('make_dir', { path: 'a/b/c' })).toEqual({ path: 'a/b/c', created: true })
    expect((await fs.stat(path.join(root, 'a', 'b', 'c'))).isDirectory()).toBe(true)
    expect(await call('make_dir', { path: 'a/b/c' })).toEqual({ path: 'a/b/c', created: false })
    expect(await call('make_dir', { path: '.' })).toEqual({ path: '.', created: false })
  })

  test('refuses to create over a file or through a symlink', async () => {
    const { root, outside } = await makeWorkspace()
    await fs.writeFile(path.join(root, 'file'), 'x')
    await fs.symlink(outside, path.join(root, 'out'))
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    await expectCapabilityError(call('make_dir', { path: 'file' }), 'INVALID_ARGUMENT')
    await expectCapabilityError(call('make_dir', { path: 'file/sub' }), 'INVALID_ARGUMENT')
    await expectCapabilityError(call('make_dir', { path: 'out/sub' }), 'DENIED')
    expect(await namesIn(outside)).toEqual(['secret.txt'])
  })

  test('refuses to create anything in a read-only root', async () => {
    const { root } = await makeWorkspace()
    const { call } = makeProvider({ roots: [{ path: root }] })
    await expectCapabilityError(call('make_dir', { path: 'new' }), 'DENIED')
    expect(await namesIn(root)).toEqual([])
  })
})

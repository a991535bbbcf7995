import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { expectCapabilityError, makeProvider, makeWorkspace, namesIn } from '../support/workspace.js'

describe('fs.delete_path', () => {
  test('deletes a file and an empty directory', async () => {
    const { root } = await makeWorkspace()
    await fs.writeFile(path.join(root, 'f.txt'), 'x')
    await fs.mkdir(path.join(root, 'empty'))
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    expect(await call('delete_path', { path: 'f.txt' })).toEqual({ path: 'f.txt', type: 'file' })
    expect(await call('delete_path', { path: 'empty' })).toEqual({ path: 'empty', type: 'dir' })
    expect(await namesIn(root)).toEqual([])
    await expectCapabilityError(call('delete_path', { path: 'f.txt' }), 'NOT_FOUND')
  })

  test('refuses a non-empty directory with CONFLICT and deletes nothing', async () => {
    const { root } = await makeWorkspace()
    await fs.mkdir(path.join(root, 'full'))
    await fs.writeFile(path.join(root, 'full', 'keep.txt'), 'x')
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    await expectCapabilityError(call('delete_path', { path: 'full' }), 'CONFLICT')
    expect(await namesIn(path.join(root, 'full'))).toEqual(['keep.txt'])
  })

  test('removes a symlink itself, never its target', async () => {
    const { root, outside } = await makeWorkspace()
    await fs.symlink(outside, path.join(root, 'link-dir'))
    await fs.symlink(path.join(outside, 'secret.txt'), path.join(root, 'link-file'))
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    expect(await call('delete_path', { path: 'link-dir' })).toEqual({ path: 'link-dir', type: 'symlink' })
    expect(await call('delete_path', { path: 'link-file' })).toEqual({ path: 'link-file', type: 'symlink' })
    expect(await namesIn(outside)).toEqual(['secret.txt'])
  })

  test('refuses to delete through a symlinked directory', async () => {
    const { root, outside } = await makeWorkspace()
    await fs.symlink(outside, path.join(root, 'link-dir'))
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    await expectCapabilityError(call('delete_path', { path: 'link-dir/secret.txt' }), 'DENIED')
    expect(await namesIn(outside)).toEqual(['secret.txt'])
  })

  test('refuses to delete the root or anything in a read-only root', async () => {
    const { root } = await makeWorkspace()
    await fs.writeFile(path.join(root, 'f.txt'), 'x')
    const writable = makeProvider({ roots: [{ path: root, write: true }] })
    await expectCapabilityError(writable.call('delete_path', { path: '.' }), 'DENIED')
    await expectCapabilityError(writable.call('delete_path', { path: 'a/..' }), 'DENIED')
    const readOnly = makeProvider({ roots: [{ path: root }] })
    await expectCapabilityError(readOnly.call('delete_path', { path: 'f.txt' }), 'DENIED')
    expect(await namesIn(root)).toEqual(['f.txt'])
  })
})

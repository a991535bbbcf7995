import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { expectCapabilityError, makeProvider, makeWorkspace } from '../support/workspace.js'

describe('fs.file_info', () => {
  test('describes a file, a directory and the root', async () => {
    const { root } = await makeWorkspace()
    await fs.mkdir(path.join(root, 'dir'))
    await fs.writeFile(path.join(root, 'dir', 'f.txt'), 'abc')
    const mtime = new Date('2024-01-02T03:04:05.000Z')
    await fs.utimes(path.join(root, 'dir', 'f.txt'), mtime, mtime)
    const { call } = makeProvider({ roots: [{ path: root }] })
    expect(await call('file_info', { path: 'dir/f.txt' })).toEqual({
      path: 'dir/f.txt',
      type: 'file',
      size: 3,
      mtime: '2024-01-02T03:04:05.000Z',
    })
    expect(await call('file_info', { path: 'dir' })).toMatchObject({ path: 'dir', type: 'dir' })
    expect(await call('file_info', { path: '.' })).toMatchObject({ path: '.', type: 'dir' })
  })

  test('describes a symlink without following it', async () => {
    const { root, outside } = await makeWorkspace()
    await fs.symlink(path.join(outside, 'secret.txt'), path.join(root, 'link'))
    const { call } = makeProvider({ roots: [{ path: root }] })
    const info = (await call('file_info', { path: 'link' })) as { type: string; size: number }
    expect(info.type).toBe('symlink')
    // The link's own size (the length of its target path), not the 10-byte secret behind it.
    expect(info.size).toBe(path.join(outside, 'secret.txt').length)
  })

  test('reports a missing path as NOT_FOUND and a hidden one as DENIED', async () => {
    const { root } = await makeWorkspace()
    await fs.writeFile(path.join(root, '.env'), 'TOKEN=1')
    const { call } = makeProvider({ roots: [{ path: root }] })
    await expectCapabilityError(call('file_info', { path: 'missing' }), 'NOT_FOUND')
    await expectCapabilityError(call('file_info', { path: '.env' }), 'DENIED')
  })
})

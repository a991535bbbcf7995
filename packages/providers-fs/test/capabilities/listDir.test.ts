import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { expectCapabilityError, makeProvider, makeWorkspace } from '../support/workspace.js'

interface Listing {
  entries: { name: string; type: string; size: number; mtime: string }[]
  truncated: boolean
}

describe('fs.list_dir', () => {
  test('lists the root by default with name, type, size and ISO mtime, sorted by name', async () => {
    const { root, outside } = await makeWorkspace()
    await fs.writeFile(path.join(root, 'b.txt'), '12345')
    await fs.mkdir(path.join(root, 'a-dir'))
    await fs.symlink(outside, path.join(root, 'z-link'))
    const { call } = makeProvider({ roots: [{ path: root }] })
    const listing = (await call('list_dir', {})) as Listing
    expect(listing.truncated).toBe(false)
    expect(listing.entries.map(({ name, type }) => ({ name, type }))).toEqual([
      { name: 'a-dir', type: 'dir' },
      { name: 'b.txt', type: 'file' },
      { name: 'z-link', type: 'symlink' },
    ])
    const file = listing.entries.find((entry) => entry.name === 'b.txt')!
    expect(file.size).toBe(5)
    expect(new Date(file.mtime).toISOString()).toBe(file.mtime)
  })

  test('lists a subdirectory, and refuses a file, a missing directory and a symlinked directory', async () => {
    const { root, outside } = await makeWorkspace()
    await fs.mkdir(path.join(root, 'sub'))
    await fs.writeFile(path.join(root, 'sub', 'x'), '')
    await fs.symlink(outside, path.join(root, 'out'))
    const { call } = makeProvider({ roots: [{ path: root }] })
    expect(
      ((await call('list_dir', { path: 'sub/' })) as Listing).entries.map((entry) => entry.name),
    ).toEqual(['x'])
    await expectCapabilityError(call('list_dir', { path: 'sub/x' }), 'INVALID_ARGUMENT')
    await expectCapabilityError(call('list_dir', { path: 'nope' }), 'NOT_FOUND')
    await expectCapabilityError(call('list_dir', { path: 'out' }), 'DENIED')
  })

  test('caps the listing and says it was truncated', async () => {
    const { root } = await makeWorkspace()
    await Promise.all(Array.from({ length: 7 }, (_, i) => fs.writeFile(path.join(root, `f${i}`), '')))
    const { call } = makeProvider({ roots: [{ path: root }], maxListEntries: 5 })
    const listing = (await call('list_dir', { path: '.' })) as Listing
    expect(listing.entries).toHaveLength(5)
    expect(listing.truncated).toBe(true)
    const exact = makeProvider({ roots: [{ path: root }], maxListEntries: 7 })
    expect(((await exact.call('list_dir', {})) as Listing).truncated).toBe(false)
  })

  test('leaves out hidden, denied and not-allowed entries', async () => {
    const { root } = await makeWorkspace()
    for (const name of ['.env', 'id_rsa', 'server.pem', 'keep.py', 'skip.txt', 'build']) {
      await fs.writeFile(path.join(root, name), '')
    }
    await fs.mkdir(path.join(root, '.git'))
    await fs.mkdir(path.join(root, 'src'))
    const { call } = makeProvider({
      roots: [{ path: root, allow: ['*.py', 'src/**', 'build'], deny: ['build'] }],
    })
    const listing = (await call('list_dir', {})) as Listing
    expect(listing.entries.map((entry) => entry.name)).toEqual(['keep.py', 'src'])
  })
})

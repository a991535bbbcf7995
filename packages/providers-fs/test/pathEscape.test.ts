// Attacks on the root boundary: traversal, symlinks, and paths swapped between check and use.
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { atomicWrite } from '../src/atomicWrite.js'
import { resolveFsOptions } from '../src/fsProviderOptions.js'
import { openDirectory, verifyDescriptor } from '../src/secureOpen.js'
import { expectCapabilityError, makeProvider, makeWorkspace, namesIn } from './support/workspace.js'

const TRAVERSALS = ['../outside/secret.txt', 'a/../../outside/secret.txt', '..', './..', 'a/../..']

describe('paths that leave the root', () => {
  test.each(TRAVERSALS)('refuses %j for every capability', async (traversal) => {
    const { root, outside } = await makeWorkspace()
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    await expectCapabilityError(call('read_file', { path: traversal }), 'DENIED')
    await expectCapabilityError(call('write_file', { path: traversal, data: 'x' }), 'DENIED')
    await expectCapabilityError(call('list_dir', { path: traversal }), 'DENIED')
    await expectCapabilityError(call('file_info', { path: traversal }), 'DENIED')
    await expectCapabilityError(call('delete_path', { path: traversal }), 'DENIED')
    await expectCapabilityError(call('make_dir', { path: `${traversal}/new` }), 'DENIED')
    expect(await fs.readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('TOP SECRET')
    expect(await namesIn(outside)).toEqual(['secret.txt'])
  })

  test('refuses absolute paths, also behind a root prefix', async () => {
    const { root, outside } = await makeWorkspace()
    const { call } = makeProvider({ roots: [{ path: root, name: 'ws', write: true }] })
    const secret = path.join(outside, 'secret.txt')
    const error = await expectCapabilityError(call('read_file', { path: secret }), 'DENIED')
    expect(error.message).toContain('absolute')
    await expectCapabilityError(call('read_file', { path: `ws:${secret}` }), 'DENIED')
    await expectCapabilityError(call('read_file', { path: 'ws:../outside/secret.txt' }), 'DENIED')
    await expectCapabilityError(call('write_file', { path: '/tmp/capsule-fs-pwned', data: 'x' }), 'DENIED')
    await expectCapabilityError(call('list_dir', { path: '/' }), 'DENIED')
  })

  test('refuses NUL bytes in a path', async () => {
    const { root } = await makeWorkspace()
    await fs.writeFile(path.join(root, 'a.txt'), 'a')
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    await expectCapabilityError(call('read_file', { path: 'a.txt\0.png' }), 'DENIED')
    await expectCapabilityError(call('write_file', { path: 'b\0', data: 'x' }), 'DENIED')
    expect(await namesIn(root)).toEqual(['a.txt'])
  })

  test('never shows host paths in error messages', async () => {
    const { root, outside } = await makeWorkspace()
    await fs.symlink(outside, path.join(root, 'out'))
    const { call } = makeProvider({ roots: [{ path: root }] })
    for (const attempt of ['missing.txt', 'out/secret.txt', '../x', 'nodir/x']) {
      const error = (await call('read_file', { path: attempt }).catch((reason: unknown) => reason)) as Error
      expect(error.message).not.toContain(root)
      expect(error.message).not.toContain('/proc/')
    }
  })
})

describe('symlinks', () => {
  test('an absolute symlink to a file outside the root is refused', async () => {
    const { root, outside } = await makeWorkspace()
    await fs.symlink(path.join(outside, 'secret.txt'), path.join(root, 'abs.txt'))
    const { call } = makeProvider({ roots: [{ path: root }] })
    const error = await expectCapabilityError(call('read_file', { path: 'abs.txt' }), 'DENIED')
    expect(error.message).toContain('symbolic link')
  })

  test('a relative symlink to a file outside the root is refused', async () => {
    const { root } = await makeWorkspace()
    await fs.symlink('../outside/secret.txt', path.join(root, 'rel.txt'))
    const { call } = makeProvider({ roots: [{ path: root }] })
    await expectCapabilityError(call('read_file', { path: 'rel.txt' }), 'DENIED')
  })

  test('a symlink that stays inside the root is refused too (symlinks are never followed)', async () => {
    const { root } = await makeWorkspace()
    await fs.writeFile(path.join(root, 'real.txt'), 'real')
    await fs.symlink('real.txt', path.join(root, 'alias.txt'))
    const { call } = makeProvider({ roots: [{ path: root }] })
    await expectCapabilityError(call('read_file', { path: 'alias.txt' }), 'DENIED')
  })

  test.each([
    ['absolute', (outside: string) => outside],
    ['relative', () => '../outside'],
  ])('a %s symlinked intermediate directory is refused for every capability', async (_kind, target) => {
    const { root, outside } = await makeWorkspace()
    await fs.symlink(target(outside), path.join(root, 'linked'))
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    await expectCapabilityError(call('read_file', { path: 'linked/secret.txt' }), 'DENIED')
    await expectCapabilityError(call('write_file', { path: 'linked/new.txt', data: 'x' }), 'DENIED')
    await expectCapabilityError(call('list_dir', { path: 'linked' }), 'DENIED')
    await expectCapabilityError(call('file_info', { path: 'linked/secret.txt' }), 'DENIED')
    await expectCapabilityError(call('delete_path', { path: 'linked/secret.txt' }), 'DENIED')
    await expectCapabilityError(call('make_dir', { path: 'linked/new' }), 'DENIED')
    expect(await namesIn(outside)).toEqual(['secret.txt'])
  })

  test('a symlink to /dev/zero inside the root is refused as a symlink', async () => {
    const { root } = await makeWorkspace()
    await fs.symlink('/dev/zero', path.join(root, 'zero'))
    const { call } = makeProvider({ roots: [{ path: root }] })
    await expectCapabilityError(call('read_file', { path: 'zero' }), 'DENIED')
  })

  test('a root configured through a symlink is pinned to its real path', async () => {
    const { base, root } = await makeWorkspace()
    await fs.writeFile(path.join(root, 'a.txt'), 'a')
    await fs.symlink(root, path.join(base, 'root-link'))
    const { call } = makeProvider({ roots: [{ path: path.join(base, 'root-link') }] })
    expect(await call('read_file', { path: 'a.txt' })).toBe('a')
  })
})

describe('paths swapped between check and use', () => {
  test('a directory swapped for a symlink just before it is opened is refused', async () => {
    const { root, outside } = await makeWorkspace()
    await fs.mkdir(path.join(root, 'a'))
    await fs.writeFile(path.join(root, 'a', 'secret.txt'), 'inside')
    const { call } = makeProvider(
      { roots: [{ path: root, write: true }] },
      {
        async beforeOpen(relPath) {
          if (relPath !== 'a') return
          await fs.rename(path.join(root, 'a'), path.join(root, 'a-old'))
          await fs.symlink(outside, path.join(root, 'a'))
        },
      },
    )
    // Refused by O_NOFOLLOW at the open itself (the descriptor check would be a second line of defence).
    const error = await expectCapabilityError(call('read_file', { path: 'a/secret.txt' }), 'DENIED')
    expect(error.message).toContain('symbolic link')
  })

  test('a directory moved out of the root after it was opened is caught by the descriptor check', async () => {
    const { root, outside } = await makeWorkspace()
    await fs.mkdir(path.join(root, 'a'))
    await fs.writeFile(path.join(root, 'a', 'data.txt'), 'moved away')
    const { call } = makeProvider(
      { roots: [{ path: root, write: true }] },
      {
        // The descriptor now points outside the root; a path check would have passed a moment ago.
        async afterOpen(relPath) {
          if (relPath === 'a') await fs.rename(path.join(root, 'a'), path.join(outside, 'a'))
        },
      },
    )
    await expectCapabilityError(call('read_file', { path: 'a/data.txt' }), 'DENIED')
  })

  test('a write whose directory is moved out of the root after it was opened creates nothing outside', async () => {
    const { root, outside } = await makeWorkspace()
    await fs.mkdir(path.join(root, 'a'))
    const { call } = makeProvider(
      { roots: [{ path: root, write: true }] },
      {
        async afterOpen(relPath) {
          if (relPath === 'a') await fs.rename(path.join(root, 'a'), path.join(outside, 'a'))
        },
      },
    )
    await expectCapabilityError(call('write_file', { path: 'a/new.txt', data: 'x' }), 'DENIED')
    expect(await namesIn(path.join(outside, 'a'))).toEqual([])
  })

  test('a directory moved out of the root just before the temp file is made: the temp file is verified and removed', async () => {
    const { root, outside } = await makeWorkspace()
    await fs.mkdir(path.join(root, 'a'))
    const options = resolveFsOptions({ roots: [{ path: root, write: true }] })
    const rootOptions = options.roots[0]!
    const signal = new AbortController().signal
    const { handle: dir } = await openDirectory(rootOptions, ['a'], { signal, display: 'a/new.txt' })
    try {
      await fs.rename(path.join(root, 'a'), path.join(outside, 'a'))
      let filled = false
      const writing = atomicWrite({
        dir,
        root: rootOptions,
        dirRelPath: 'a',
        name: 'new.txt',
        signal,
        display: 'a/new.txt',
        async fill() {
          filled = true
        },
      })
      await expectCapabilityError(writing, 'DENIED')
      expect(filled).toBe(false)
      expect(await namesIn(path.join(outside, 'a'))).toEqual([])
    } finally {
      await dir.close()
    }
  })

  test('a file swapped for a symlink just before it is opened is refused', async () => {
    const { root, outside } = await makeWorkspace()
    await fs.writeFile(path.join(root, 'a.txt'), 'inside')
    const { call } = makeProvider(
      { roots: [{ path: root }] },
      {
        async beforeOpen(relPath) {
          if (relPath !== 'a.txt') return
          await fs.rm(path.join(root, 'a.txt'))
          await fs.symlink(path.join(outside, 'secret.txt'), path.join(root, 'a.txt'))
        },
      },
    )
    const error = await expectCapabilityError(call('read_file', { path: 'a.txt' }), 'DENIED')
    expect(error.message).toContain('symbolic link')
  })

  test('a target swapped for a symlink just before the rename is replaced, and the link target is untouched', async () => {
    const { root, outside } = await makeWorkspace()
    await fs.writeFile(path.join(root, 'x.txt'), 'old')
    const { call } = makeProvider(
      { roots: [{ path: root, write: true }] },
      {
        async beforeRename() {
          await fs.rm(path.join(root, 'x.txt'))
          await fs.symlink(path.join(outside, 'secret.txt'), path.join(root, 'x.txt'))
        },
      },
    )
    await call('write_file', { path: 'x.txt', data: 'new' })
    expect(await fs.readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('TOP SECRET')
    expect((await fs.lstat(path.join(root, 'x.txt'))).isFile()).toBe(true)
    expect(await fs.readFile(path.join(root, 'x.txt'), 'utf8')).toBe('new')
  })

  test('verifyDescriptor refuses a descriptor open on a file outside the root', async () => {
    const { root, outside } = await makeWorkspace()
    const rootOptions = resolveFsOptions({ roots: [{ path: root }] }).roots[0]!
    const handle = await fs.open(path.join(outside, 'secret.txt'))
    try {
      await expectCapabilityError(verifyDescriptor(handle, rootOptions, 'secret.txt', 'secret.txt'), 'DENIED')
    } finally {
      await handle.close()
    }
  })
})

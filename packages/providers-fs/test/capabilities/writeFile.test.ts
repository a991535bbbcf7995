import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { makeContext } from '../support/capabilityContext.js'
import { expectCapabilityError, makeProvider, makeWorkspace, namesIn } from '../support/workspace.js'

describe('fs.write_file', () => {
  test('writes text as UTF-8 and returns the path and the bytes written', async () => {
    const { root } = await makeWorkspace()
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    expect(await call('write_file', { path: 'out.txt', data: 'héllo' })).toEqual({
      path: 'out.txt',
      bytes: 6,
    })
    expect(await fs.readFile(path.join(root, 'out.txt'), 'utf8')).toBe('héllo')
  })

  test('writes bytes and replaces an existing file, keeping its permissions', async () => {
    const { root } = await makeWorkspace()
    const file = path.join(root, 'data.bin')
    await fs.writeFile(file, 'old content')
    await fs.chmod(file, 0o640)
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    await call('write_file', { path: 'data.bin', data: new Uint8Array([1, 2, 3]) })
    expect([...(await fs.readFile(file))]).toEqual([1, 2, 3])
    expect((await fs.stat(file)).mode & 0o777).toBe(0o640)
  })

  test('appends to an existing file and creates a missing one', async () => {
    const { root } = await makeWorkspace()
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    await call('write_file', { path: 'log.txt', data: 'one\n', append: true })
    expect(await call('write_file', { path: 'log.txt', data: 'two\n', append: true })).toEqual({
      path: 'log.txt',
      bytes: 4,
    })
    expect(await fs.readFile(path.join(root, 'log.txt'), 'utf8')).toBe('one\ntwo\n')
  })

  test('writes into a named, writable second root', async () => {
    const { root, outside } = await makeWorkspace()
    const { call } = makeProvider({ roots: [{ path: root }, { path: outside, name: 'out', write: true }] })
    expect(await call('write_file', { path: 'out:result.txt', data: 'r' })).toEqual({
      path: 'out:result.txt',
      bytes: 1,
    })
    expect(await fs.readFile(path.join(outside, 'result.txt'), 'utf8')).toBe('r')
    await expectCapabilityError(call('write_file', { path: 'result.txt', data: 'r' }), 'DENIED')
  })

  test('refuses to write to a read-only root and leaves nothing behind', async () => {
    const { root } = await makeWorkspace()
    const { call } = makeProvider({ roots: [{ path: root }] })
    const error = await expectCapabilityError(call('write_file', { path: 'x.txt', data: 'x' }), 'DENIED')
    expect(error.message).toContain('read-only')
    expect(await namesIn(root)).toEqual([])
  })

  test('needs the parent directory to exist and refuses to write over a directory or the root', async () => {
    const { root } = await makeWorkspace()
    await fs.mkdir(path.join(root, 'dir'))
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    await expectCapabilityError(call('write_file', { path: 'missing/x.txt', data: 'x' }), 'NOT_FOUND')
    await expectCapabilityError(call('write_file', { path: 'dir', data: 'x' }), 'INVALID_ARGUMENT')
    await expectCapabilityError(call('write_file', { path: '.', data: 'x' }), 'INVALID_ARGUMENT')
  })

  test('refuses a write over the cap before touching the old file', async () => {
    const { root } = await makeWorkspace()
    const file = path.join(root, 'keep.txt')
    await fs.writeFile(file, 'original')
    const { call } = makeProvider({ roots: [{ path: root, write: true }], maxWriteBytes: 8 })
    expect(await call('write_file', { path: 'keep.txt', data: '12345678' })).toEqual({
      path: 'keep.txt',
      bytes: 8,
    })
    await expectCapabilityError(call('write_file', { path: 'keep.txt', data: '123456789' }), 'LIMIT_EXCEEDED')
    expect(await fs.readFile(file, 'utf8')).toBe('12345678')
    expect(await namesIn(root)).toEqual(['keep.txt'])
  })

  test('refuses an append that would take the file over the cap, leaving it intact', async () => {
    const { root } = await makeWorkspace()
    const file = path.join(root, 'log.txt')
    await fs.writeFile(file, '123456')
    const { call } = makeProvider({ roots: [{ path: root, write: true }], maxWriteBytes: 8 })
    await expectCapabilityError(
      call('write_file', { path: 'log.txt', data: 'abc', append: true }),
      'LIMIT_EXCEEDED',
    )
    expect(await fs.readFile(file, 'utf8')).toBe('123456')
    expect(await namesIn(root)).toEqual(['log.txt'])
  })

  test('is atomic: a failure just before the rename leaves the old content and no temp file', async () => {
    const { root } = await makeWorkspace()
    const file = path.join(root, 'state.json')
    await fs.writeFile(file, '{"v":1}')
    let tempSeen: string[] = []
    const { call } = makeProvider(
      { roots: [{ path: root, write: true }] },
      {
        async beforeRename() {
          tempSeen = await namesIn(root)
          throw new Error('simulated crash')
        },
      },
    )
    await expect(call('write_file', { path: 'state.json', data: '{"v":2}' })).rejects.toThrow(
      'simulated crash',
    )
    expect(tempSeen).toHaveLength(2)
    expect(tempSeen.find((name) => name !== 'state.json')).toMatch(
      /^\.state\.json\.[0-9a-f]{12}\.capsule-tmp$/,
    )
    expect(await fs.readFile(file, 'utf8')).toBe('{"v":1}')
    expect(await namesIn(root)).toEqual(['state.json'])
  })

  test('a cancel after the content was written fails with CANCELLED, removes the temp file and keeps the old content', async () => {
    const { root } = await makeWorkspace()
    const file = path.join(root, 'x.txt')
    await fs.writeFile(file, 'old')
    const { ctx, controller } = makeContext()
    let namesBeforeCancel: string[] = []
    const { call } = makeProvider(
      { roots: [{ path: root, write: true }] },
      {
        async beforeRename() {
          namesBeforeCancel = await namesIn(root)
          controller.abort()
        },
      },
    )
    await expectCapabilityError(
      call('write_file', { path: 'x.txt', data: 'new', append: true }, ctx),
      'CANCELLED',
    )
    expect(namesBeforeCancel).toHaveLength(2)
    expect(await namesIn(root)).toEqual(['x.txt'])
    expect(await fs.readFile(file, 'utf8')).toBe('old')
  })

  test('refuses to write through or over a symlink, leaving the link target untouched', async () => {
    const { root, outside } = await makeWorkspace()
    await fs.symlink(path.join(outside, 'secret.txt'), path.join(root, 'link.txt'))
    await fs.symlink('../outside/new.txt', path.join(root, 'dangling.txt'))
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    await expectCapabilityError(call('write_file', { path: 'link.txt', data: 'pwned' }), 'DENIED')
    await expectCapabilityError(
      call('write_file', { path: 'link.txt', data: 'pwned', append: true }),
      'DENIED',
    )
    await expectCapabilityError(call('write_file', { path: 'dangling.txt', data: 'pwned' }), 'DENIED')
    expect(await fs.readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('TOP SECRET')
    expect(await namesIn(outside)).toEqual(['secret.txt'])
  })
})

import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { makeContext } from '../support/capabilityContext.js'
import { expectCapabilityError, makeProvider, makeWorkspace } from '../support/workspace.js'

describe('fs.read_file', () => {
  test('reads a UTF-8 text file relative to the default root', async () => {
    const { root } = await makeWorkspace()
    await fs.mkdir(path.join(root, 'notes'))
    await fs.writeFile(path.join(root, 'notes', 'a.txt'), 'héllo ✓')
    const { call } = makeProvider({ roots: [{ path: root }] })
    expect(await call('read_file', { path: 'notes/a.txt' })).toBe('héllo ✓')
    expect(await call('read_file', { path: './notes/../notes/a.txt' })).toBe('héllo ✓')
  })

  test('returns bytes when encoding is None', async () => {
    const { root } = await makeWorkspace()
    await fs.writeFile(path.join(root, 'blob.bin'), Buffer.from([0, 255, 1, 128]))
    const { call } = makeProvider({ roots: [{ path: root }] })
    const bytes = await call('read_file', { path: 'blob.bin', encoding: null })
    expect(bytes).toBeInstanceOf(Uint8Array)
    expect([...(bytes as Uint8Array)]).toEqual([0, 255, 1, 128])
  })

  test('decodes latin-1 and refuses bytes that are not valid in the chosen encoding', async () => {
    const { root } = await makeWorkspace()
    await fs.writeFile(path.join(root, 'latin.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9]))
    const { call } = makeProvider({ roots: [{ path: root }] })
    expect(await call('read_file', { path: 'latin.txt', encoding: 'latin_1' })).toBe('café')
    const error = await expectCapabilityError(call('read_file', { path: 'latin.txt' }), 'INVALID_ARGUMENT')
    expect(error.message).toContain('encoding=None')
    await expectCapabilityError(
      call('read_file', { path: 'latin.txt', encoding: 'ascii' }),
      'INVALID_ARGUMENT',
    )
    await expectCapabilityError(
      call('read_file', { path: 'latin.txt', encoding: 'rot13' }),
      'INVALID_ARGUMENT',
    )
  })

  test('addresses a second root by name and prefix', async () => {
    const { root, outside } = await makeWorkspace()
    const { call } = makeProvider({
      roots: [
        { path: root, name: 'ws' },
        { path: outside, name: 'data' },
      ],
    })
    expect(await call('read_file', { path: 'data:secret.txt' })).toBe('TOP SECRET')
    await fs.writeFile(path.join(root, 'a:b.txt'), 'colon')
    expect(await call('read_file', { path: './a:b.txt' })).toBe('colon')
    await expectCapabilityError(call('read_file', { path: 'a:b.txt' }), 'INVALID_ARGUMENT')
  })

  test('reports a missing file as NOT_FOUND and a directory as INVALID_ARGUMENT', async () => {
    const { root } = await makeWorkspace()
    await fs.mkdir(path.join(root, 'dir'))
    const { call } = makeProvider({ roots: [{ path: root }] })
    await expectCapabilityError(call('read_file', { path: 'missing.txt' }), 'NOT_FOUND')
    await expectCapabilityError(call('read_file', { path: 'nodir/missing.txt' }), 'NOT_FOUND')
    await expectCapabilityError(call('read_file', { path: 'dir' }), 'INVALID_ARGUMENT')
    await expectCapabilityError(call('read_file', { path: '.' }), 'INVALID_ARGUMENT')
  })

  test('refuses a file over the read cap, and reads one exactly at it', async () => {
    const { root } = await makeWorkspace()
    await fs.writeFile(path.join(root, 'at-cap.txt'), 'x'.repeat(16))
    await fs.writeFile(path.join(root, 'over-cap.txt'), 'x'.repeat(17))
    const { call } = makeProvider({ roots: [{ path: root }], maxReadBytes: 16 })
    expect(await call('read_file', { path: 'at-cap.txt' })).toHaveLength(16)
    const error = await expectCapabilityError(call('read_file', { path: 'over-cap.txt' }), 'LIMIT_EXCEEDED')
    expect(error.message).toContain('16 bytes')
  })

  test('fails with CANCELLED when the call is aborted', async () => {
    const { root } = await makeWorkspace()
    await fs.writeFile(path.join(root, 'a.txt'), 'a')
    const { call } = makeProvider({ roots: [{ path: root }] })
    const { ctx, controller } = makeContext()
    controller.abort()
    await expectCapabilityError(call('read_file', { path: 'a.txt' }, ctx), 'CANCELLED')
  })

  test('fails with CANCELLED when aborted between walking and reading', async () => {
    const { root } = await makeWorkspace()
    await fs.mkdir(path.join(root, 'dir'))
    await fs.writeFile(path.join(root, 'dir', 'a.txt'), 'a')
    const { ctx, controller } = makeContext()
    const { call } = makeProvider(
      { roots: [{ path: root }] },
      {
        afterOpen(relPath) {
          if (relPath === 'dir') controller.abort()
        },
      },
    )
    await expectCapabilityError(call('read_file', { path: 'dir/a.txt' }, ctx), 'CANCELLED')
  })
})

import { execFileSync } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { expectCapabilityError, makeProvider, makeWorkspace, mkfifo } from './support/workspace.js'

function canMakeDevices(): boolean {
  return process.getuid?.() === 0
}

describe('special files', () => {
  test('reading a FIFO is refused within a second instead of hanging', async () => {
    const { root } = await makeWorkspace()
    mkfifo(path.join(root, 'pipe'))
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    const started = performance.now()
    const error = await expectCapabilityError(call('read_file', { path: 'pipe' }), 'DENIED')
    expect(performance.now() - started).toBeLessThan(1000)
    expect(error.message).toContain('not a regular file')
    await expectCapabilityError(call('write_file', { path: 'pipe', data: 'x' }), 'DENIED')
    await expectCapabilityError(call('write_file', { path: 'pipe', data: 'x', append: true }), 'DENIED')
    expect(await call('file_info', { path: 'pipe' })).toMatchObject({ type: 'other' })
  })

  test.runIf(canMakeDevices())(
    'a character device inside the root is refused without reading it',
    async () => {
      const { root } = await makeWorkspace()
      // The same device as /dev/zero: reading it would never end.
      execFileSync('mknod', [path.join(root, 'zero'), 'c', '1', '5'])
      const { call } = makeProvider({ roots: [{ path: root }] })
      await expectCapabilityError(call('read_file', { path: 'zero' }), 'DENIED')
    },
  )

  test('a file with a second hard link is refused for reads and appends; a write replaces only the name in the root', async () => {
    const { root, outside } = await makeWorkspace()
    await fs.link(path.join(outside, 'secret.txt'), path.join(root, 'hard.txt'))
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    const error = await expectCapabilityError(call('read_file', { path: 'hard.txt' }), 'DENIED')
    expect(error.message).toContain('hard link')
    await expectCapabilityError(call('write_file', { path: 'hard.txt', data: 'x', append: true }), 'DENIED')
    await call('write_file', { path: 'hard.txt', data: 'replaced' })
    expect(await fs.readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('TOP SECRET')
    expect(await call('read_file', { path: 'hard.txt' })).toBe('replaced')
  })
})

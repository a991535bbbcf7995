import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { copyCapped, limitExceeded, readCapped } from '../src/cappedIo.js'
import { expectCapabilityError, makeWorkspace } from './support/workspace.js'

describe('capped reads and copies', () => {
  test('readCapped stops as soon as more than the cap arrives, whatever fstat said before', async () => {
    const { root } = await makeWorkspace()
    const file = path.join(root, 'grown.txt')
    await fs.writeFile(file, 'x'.repeat(17))
    const handle = await fs.open(file)
    try {
      await expectCapabilityError(
        readCapped(handle, 16, new AbortController().signal, 'grown.txt'),
        'LIMIT_EXCEEDED',
      )
      expect((await readCapped(handle, 17, new AbortController().signal, 'grown.txt')).toString()).toBe(
        'x'.repeat(17),
      )
    } finally {
      await handle.close()
    }
  })

  test('readCapped reads files larger than one chunk completely', async () => {
    const { root } = await makeWorkspace()
    const file = path.join(root, 'big.bin')
    const content = Buffer.alloc(700 * 1024, 7)
    await fs.writeFile(file, content)
    const handle = await fs.open(file)
    try {
      expect(
        (await readCapped(handle, content.length, new AbortController().signal, 'big.bin')).equals(content),
      ).toBe(true)
    } finally {
      await handle.close()
    }
  })

  test('copyCapped refuses a source that grew past the cap', async () => {
    const { root } = await makeWorkspace()
    await fs.writeFile(path.join(root, 'src'), 'y'.repeat(10))
    const source = await fs.open(path.join(root, 'src'))
    const target = await fs.open(path.join(root, 'dst'), 'w')
    try {
      const tooLarge = () => limitExceeded('dst', 9, 'write')
      await expectCapabilityError(
        copyCapped(source, target, 9, new AbortController().signal, tooLarge),
        'LIMIT_EXCEEDED',
      )
    } finally {
      await source.close()
      await target.close()
    }
  })
})

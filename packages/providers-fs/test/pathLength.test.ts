import { execFileSync } from 'node:child_process'
import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { NAME_MAX_BYTES, PATH_MAX_BYTES } from '../src/userPath.js'
import { expectCapabilityError, makeProvider, makeWorkspace, namesIn } from './support/workspace.js'

// The bytes a root leaves for the paths under it: its host path, a separator and the NUL count too.
async function roomUnder(root: string): Promise<number> {
  return PATH_MAX_BYTES - 1 - Buffer.byteLength(`${await fs.realpath(root)}/`)
}

// A root-relative path of exactly `bytes` bytes: 200-byte directory names, then one shorter name.
function pathOfBytes(bytes: number, fill = 'd'): string {
  const components: string[] = []
  let remaining = bytes
  while (remaining > NAME_MAX_BYTES) {
    components.push(fill.repeat(200))
    remaining -= 201
  }
  components.push(fill.repeat(remaining))
  return components.join('/')
}

// Every entry below `dir`, found by the real find(1): nothing may be left behind by a refused call.
function entriesBelow(dir: string): string[] {
  return execFileSync('find', [dir, '-mindepth', '1'], { encoding: 'utf8' }).split('\n').filter(Boolean)
}

// 2048 one-letter directories: 4095 bytes, within PATH_MAX on its own, past it under any root.
const DEEP = Array(2048).fill('a').join('/')
const LONG_NAME = `dir/${'x'.repeat(NAME_MAX_BYTES + 1)}`

const CALLS: Array<[string, (target: string) => Record<string, unknown>]> = [
  ['make_dir', (target) => ({ path: target })],
  ['write_file', (target) => ({ path: target, data: 'x' })],
  ['read_file', (target) => ({ path: target })],
  ['list_dir', (target) => ({ path: target })],
  ['file_info', (target) => ({ path: target })],
  ['delete_path', (target) => ({ path: target })],
]

describe('path length limits', () => {
  test('make_dir past PATH_MAX creates nothing and names the limit', async () => {
    const { root } = await makeWorkspace()
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    const error = await expectCapabilityError(call('make_dir', { path: DEEP }), 'INVALID_ARGUMENT')
    expect(error.message).toContain(`PATH_MAX is ${PATH_MAX_BYTES} bytes`)
    expect(error.message).toContain(`leaves room for ${await roomUnder(root)}`)
    expect((error as { details?: unknown }).details).toEqual({
      limit: 'PATH_MAX',
      maxBytes: await roomUnder(root),
      bytes: DEEP.length,
    })
    expect(entriesBelow(root)).toEqual([])
  })

  test('make_dir creates a path of exactly the room the root leaves, and refuses one byte more', async () => {
    const { root } = await makeWorkspace()
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    const room = await roomUnder(root)
    await expectCapabilityError(call('make_dir', { path: pathOfBytes(room + 1) }), 'INVALID_ARGUMENT')
    expect(entriesBelow(root)).toEqual([])
    const fits = pathOfBytes(room)
    expect(await call('make_dir', { path: fits })).toEqual({ path: fits, created: true })
    expect((await fs.stat(path.join(root, fits))).isDirectory()).toBe(true)
  })

  test('a name past NAME_MAX bytes is refused before its parents are created', async () => {
    const { root } = await makeWorkspace()
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    const error = await expectCapabilityError(call('make_dir', { path: LONG_NAME }), 'INVALID_ARGUMENT')
    expect(error.message).toContain(`NAME_MAX is ${NAME_MAX_BYTES} bytes`)
    expect((error as { details?: unknown }).details).toEqual({
      limit: 'NAME_MAX',
      maxBytes: NAME_MAX_BYTES,
      bytes: NAME_MAX_BYTES + 1,
    })
    // Bytes, not characters: 128 two-byte letters are too long, 85 three-byte signs just fit.
    await expectCapabilityError(call('make_dir', { path: `dir/${'é'.repeat(128)}` }), 'INVALID_ARGUMENT')
    expect(entriesBelow(root)).toEqual([])
    expect(await call('make_dir', { path: `dir/${'€'.repeat(85)}` })).toMatchObject({ created: true })
  })

  test.each(CALLS)('%s checks PATH_MAX and NAME_MAX before touching the disk', async (name, args) => {
    const { root } = await makeWorkspace()
    await fs.mkdir(path.join(root, 'dir'))
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    const deep = await expectCapabilityError(call(name, args(DEEP)), 'INVALID_ARGUMENT')
    expect(deep.message).toContain('PATH_MAX')
    const long = await expectCapabilityError(call(name, args(LONG_NAME)), 'INVALID_ARGUMENT')
    expect(long.message).toContain('NAME_MAX')
    // A path string of PATH_MAX bytes or more is refused whatever it normalises to.
    const huge = await expectCapabilityError(call(name, args(`${'./'.repeat(2048)}dir`)), 'INVALID_ARGUMENT')
    expect(huge.message).toContain('PATH_MAX')
    expect(entriesBelow(root)).toEqual([path.join(root, 'dir')])
  })

  test('write_file past PATH_MAX in an existing deep directory leaves it empty', async () => {
    const { root } = await makeWorkspace()
    const room = await roomUnder(root)
    const parent = pathOfBytes(room - 10)
    await fs.mkdir(path.join(root, parent), { recursive: true })
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    const error = await expectCapabilityError(
      call('write_file', { path: `${parent}/${'f'.repeat(20)}`, data: 'x' }),
      'INVALID_ARGUMENT',
    )
    expect(error.message).toContain('PATH_MAX')
    expect(await namesIn(path.join(root, parent))).toEqual([])
  })

  test('write_file at the limit shortens its temp name, or refuses when even the shortest cannot fit', async () => {
    const { root } = await makeWorkspace()
    const room = await roomUnder(root)
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })

    // A long last name: the temp file beside it gets a shorter one, and the write goes through.
    const longParent = pathOfBytes(room - 61)
    await fs.mkdir(path.join(root, longParent), { recursive: true })
    const target = `${longParent}/${'f'.repeat(60)}`
    expect(Buffer.byteLength(target)).toBe(room)
    expect(await call('write_file', { path: target, data: 'fits' })).toEqual({ path: target, bytes: 4 })
    expect(await fs.readFile(path.join(root, target), 'utf8')).toBe('fits')
    expect(await namesIn(path.join(root, longParent))).toEqual(['f'.repeat(60)])

    // A short last name at the very limit: no temp name fits beside it, so nothing is created.
    const shortParent = pathOfBytes(room - 3, 'e')
    await fs.mkdir(path.join(root, shortParent), { recursive: true })
    const error = await expectCapabilityError(
      call('write_file', { path: `${shortParent}/ab`, data: 'x' }),
      'INVALID_ARGUMENT',
    )
    expect(error.message).toContain('temporary name')
    expect((error as { details?: { limit?: unknown } }).details?.limit).toBe('PATH_MAX')
    expect(await namesIn(path.join(root, shortParent))).toEqual([])
  })
})

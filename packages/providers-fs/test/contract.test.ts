import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { runProviderContract } from '@capsule/contract-tests'
import { expect } from 'vitest'
import { fsProvider } from '../src/index.js'

// The fs provider against the shared provider contract. A temp dir holds `root/` (the one writable root)
// and `outside/` (a secret next to it, which every denied call aims at).
//
// No slow fixture: every fs call is a short, bounded sequence of local system calls. The provider
// refuses what could block (FIFOs, devices and sockets are not regular files; symlinks are not
// followed), so no call can be made to take 2 s, and each fixture says so in `noSlowCall`
// (cancel.abort-within-1s is skipped with that reason). Its signal checks between steps are covered by
// the provider's own tests.

const NO_SLOW_CALL =
  'a bounded sequence of local system calls; FIFOs, devices and sockets are refused and symlinks are not followed'

let base = ''
let root = ''
let outside = ''
let deletions = 0

/** Every path under the temp dir with its size, and the secret's content: what a denied call could touch. */
async function snapshot(): Promise<unknown> {
  const entries = await fs.readdir(base, { recursive: true, withFileTypes: true })
  const listing = await Promise.all(
    entries.map(async (entry) => {
      const full = path.join(entry.parentPath, entry.name)
      const stats = await fs.lstat(full)
      return `${path.relative(base, full)} ${entry.isDirectory() ? 'dir' : stats.size}`
    }),
  )
  return { listing: listing.sort(), secret: await fs.readFile(path.join(outside, 'secret.txt'), 'utf8') }
}

runProviderContract(() => fsProvider({ roots: [{ path: root, write: true }] }), {
  setup: async () => {
    base = await fs.mkdtemp(path.join(os.tmpdir(), 'capsule-fs-contract-'))
    root = path.join(base, 'root')
    outside = path.join(base, 'outside')
    await fs.mkdir(path.join(root, 'full'), { recursive: true })
    await fs.mkdir(outside)
    await fs.writeFile(path.join(outside, 'secret.txt'), 'TOP SECRET')
    await fs.writeFile(path.join(root, 'hello.txt'), 'hello')
    await fs.writeFile(path.join(root, 'full', 'x.txt'), 'x')
  },
  teardown: async () => {
    if (base) await fs.rm(base, { recursive: true, force: true })
  },
  snapshot,
  capabilities: {
    read_file: {
      noSlowCall: NO_SLOW_CALL,
      valid: { path: 'hello.txt' },
      denied: { path: '../outside/secret.txt' },
      errors: [
        { args: { path: 'missing.txt' }, code: 'NOT_FOUND' },
        { args: { path: '.env' }, code: 'DENIED' },
      ],
      check: (value) => expect(value).toBe('hello'),
    },
    write_file: {
      noSlowCall: NO_SLOW_CALL,
      valid: { path: 'written.txt', data: new Uint8Array([0, 1, 2, 255]) },
      denied: { path: '../outside/pwned.txt', data: 'pwned' },
      errors: [{ args: { path: 'no/such/dir/file.txt', data: 'x' }, code: 'NOT_FOUND' }],
      check: (value) => expect(value).toEqual({ path: 'written.txt', bytes: 4 }),
    },
    list_dir: {
      noSlowCall: NO_SLOW_CALL,
      valid: { path: '.' },
      denied: { path: '../outside' },
      check: (value) =>
        expect((value as { entries: Array<{ name: string }> }).entries.map((entry) => entry.name)).toContain(
          'hello.txt',
        ),
    },
    file_info: {
      noSlowCall: NO_SLOW_CALL,
      valid: { path: 'hello.txt' },
      denied: { path: '../outside/secret.txt' },
      check: (value) => expect(value).toMatchObject({ path: 'hello.txt', type: 'file', size: 5 }),
    },
    delete_path: {
      noSlowCall: NO_SLOW_CALL,
      // Each valid call deletes a file made for it, so the call can be repeated (50 times at once, too).
      valid: async () => {
        deletions += 1
        const name = `delete-me-${deletions}.txt`
        await fs.writeFile(path.join(root, name), 'x')
        return { path: name }
      },
      denied: { path: '../outside/secret.txt' },
      errors: [
        { args: { path: 'full' }, code: 'CONFLICT' },
        { args: { path: 'missing.txt' }, code: 'NOT_FOUND' },
      ],
    },
    make_dir: {
      noSlowCall: NO_SLOW_CALL,
      valid: { path: 'made/deeper' },
      denied: { path: '../outside/new-dir' },
      check: (value) => expect(value).toMatchObject({ path: 'made/deeper' }),
    },
  },
})

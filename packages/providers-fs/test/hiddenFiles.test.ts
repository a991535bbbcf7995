import fs from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { expectCapabilityError, makeProvider, makeWorkspace } from './support/workspace.js'

const SECRETS = [
  '.env',
  '.env.local',
  '.git/config',
  'id_rsa',
  'id_ed25519.pub',
  'x.pem',
  'certs/SERVER.KEY',
  'deep/.ssh/known_hosts',
]

async function plantSecrets(root: string): Promise<void> {
  for (const secret of SECRETS) {
    await fs.mkdir(path.dirname(path.join(root, secret)), { recursive: true })
    await fs.writeFile(path.join(root, secret), `content of ${secret}`)
  }
}

describe('hidden files and secrets', () => {
  test.each(SECRETS)('%s is refused by default for reads, writes, info and deletes', async (secret) => {
    const { root } = await makeWorkspace()
    await plantSecrets(root)
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    const error = await expectCapabilityError(call('read_file', { path: secret }), 'DENIED')
    expect(error.message).toContain('allowHidden')
    await expectCapabilityError(call('write_file', { path: secret, data: 'x' }), 'DENIED')
    await expectCapabilityError(call('file_info', { path: secret }), 'DENIED')
    await expectCapabilityError(call('delete_path', { path: secret }), 'DENIED')
    expect(await fs.readFile(path.join(root, secret), 'utf8')).toBe(`content of ${secret}`)
  })

  test('hidden directories cannot be listed or created by default', async () => {
    const { root } = await makeWorkspace()
    await plantSecrets(root)
    const { call } = makeProvider({ roots: [{ path: root, write: true }] })
    await expectCapabilityError(call('list_dir', { path: '.git' }), 'DENIED')
    await expectCapabilityError(call('make_dir', { path: '.ssh' }), 'DENIED')
    await expectCapabilityError(call('make_dir', { path: 'a/.hidden/b' }), 'DENIED')
  })

  test('allowHidden opts exactly the matching paths back in', async () => {
    const { root } = await makeWorkspace()
    await plantSecrets(root)
    const { call } = makeProvider({
      roots: [{ path: root, write: true }],
      allowHidden: ['.env', '.git/**', '**/*.pem'],
    })
    expect(await call('read_file', { path: '.env' })).toBe('content of .env')
    expect(await call('read_file', { path: '.git/config' })).toBe('content of .git/config')
    expect(await call('read_file', { path: 'x.pem' })).toBe('content of x.pem')
    await call('write_file', { path: '.env', data: 'NEW=1' })
    expect(await fs.readFile(path.join(root, '.env'), 'utf8')).toBe('NEW=1')
    const listing = (await call('list_dir', {})) as { entries: { name: string }[] }
    expect(listing.entries.map((entry) => entry.name)).toEqual(['.env', '.git', 'certs', 'deep', 'x.pem'])
    await expectCapabilityError(call('read_file', { path: '.env.local' }), 'DENIED')
    await expectCapabilityError(call('read_file', { path: 'id_rsa' }), 'DENIED')
    await expectCapabilityError(call('read_file', { path: 'deep/.ssh/known_hosts' }), 'DENIED')
  })

  test("a root's allow globs narrow access but never reveal hidden files", async () => {
    const { root } = await makeWorkspace()
    await plantSecrets(root)
    const { call } = makeProvider({ roots: [{ path: root, allow: ['.env', '**'] }] })
    await expectCapabilityError(call('read_file', { path: '.env' }), 'DENIED')
  })

  test('deny wins over allow and allowHidden, and covers everything below a denied directory', async () => {
    const { root } = await makeWorkspace()
    await plantSecrets(root)
    await fs.mkdir(path.join(root, 'private', 'sub'), { recursive: true })
    await fs.writeFile(path.join(root, 'private', 'sub', 'a.txt'), 'p')
    const { call } = makeProvider({
      roots: [{ path: root, allow: ['**'], deny: ['private', '.env'] }],
      allowHidden: ['.env'],
    })
    await expectCapabilityError(call('read_file', { path: '.env' }), 'DENIED')
    await expectCapabilityError(call('read_file', { path: 'private/sub/a.txt' }), 'DENIED')
    await expectCapabilityError(call('list_dir', { path: 'private' }), 'DENIED')
  })

  test('a path outside the allow globs is refused, and directories leading to allowed files can be listed', async () => {
    const { root } = await makeWorkspace()
    await fs.mkdir(path.join(root, 'src', 'pkg'), { recursive: true })
    await fs.writeFile(path.join(root, 'src', 'pkg', 'mod.py'), 'x = 1')
    await fs.writeFile(path.join(root, 'src', 'pkg', 'notes.txt'), 'n')
    const { call } = makeProvider({ roots: [{ path: root, allow: ['src/**/*.py'] }] })
    expect(await call('read_file', { path: 'src/pkg/mod.py' })).toBe('x = 1')
    await expectCapabilityError(call('read_file', { path: 'src/pkg/notes.txt' }), 'DENIED')
    const listing = (await call('list_dir', { path: 'src/pkg' })) as { entries: { name: string }[] }
    expect(listing.entries.map((entry) => entry.name)).toEqual(['mod.py'])
  })
})

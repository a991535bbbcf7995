import { describe, expect, test } from 'vitest'
import { PathPolicy } from '../src/pathPolicy.js'

describe('PathPolicy', () => {
  test('lets everything that is not hidden through when there are no rules', () => {
    const policy = new PathPolicy({ deny: [], allowHidden: [] })
    expect(policy.check('src/main.py', 'file')).toBeUndefined()
    expect(policy.check('', 'dir')).toBeUndefined()
  })

  test.each([
    '.env',
    '.env.production',
    'app/.git/HEAD',
    '.ssh/config',
    'id_rsa',
    'keys/id_ecdsa.pub',
    'tls/cert.PEM',
    'x.key',
    'store.p12',
  ])('hides %s by default', (relPath) => {
    expect(new PathPolicy({ deny: [], allowHidden: [] }).check(relPath, 'file')).toBe('hidden')
  })

  test('does not hide names that merely contain a secret-looking word', () => {
    const policy = new PathPolicy({ deny: [], allowHidden: [] })
    for (const relPath of ['keys.txt', 'my.env.example', 'pem/readme.md', 'rsa_id', 'a.keyboard']) {
      expect(policy.check(relPath, 'file'), relPath).toBeUndefined()
    }
  })

  test('deny matches a path or any of its ancestors, and wins over allow and allowHidden', () => {
    const policy = new PathPolicy({ allow: ['**'], deny: ['build', '*.log'], allowHidden: ['**'] })
    expect(policy.check('build', 'dir')).toBe('denied')
    expect(policy.check('build/out/a.js', 'file')).toBe('denied')
    expect(policy.check('x.log', 'file')).toBe('denied')
    expect(policy.check('sub/x.log', 'file')).toBeUndefined()
    expect(policy.check('.env', 'file')).toBeUndefined()
  })

  test('allow globs match files fully and directories as prefixes', () => {
    const policy = new PathPolicy({ allow: ['src/**/*.py'], deny: [], allowHidden: [] })
    expect(policy.check('src/a/b.py', 'file')).toBeUndefined()
    expect(policy.check('src/a/b.txt', 'file')).toBe('not-allowed')
    expect(policy.check('src/a', 'dir')).toBeUndefined()
    expect(policy.check('docs', 'dir')).toBe('not-allowed')
    expect(policy.check('src', 'file')).toBe('not-allowed')
  })

  test('checkAny refuses only what is refused as a file and as a directory', () => {
    const policy = new PathPolicy({ allow: ['src/**/*.py'], deny: [], allowHidden: [] })
    expect(policy.checkAny('src')).toBeUndefined()
    expect(policy.checkAny('README.md')).toBe('not-allowed')
  })
})

// Every published package has a README, and core's README describes each folder of its src/ (no more, no
// fewer), so a new layer cannot arrive undocumented.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, test } from 'vitest'

const REPO = resolve(import.meta.dirname, '../../..')

const publishedPackages = [
  ...readdirSync(join(REPO, 'packages')).map((name) => `packages/${name}`),
  'contract-tests',
  'python-worker',
].filter((dir) => {
  const manifest = join(REPO, dir, 'package.json')
  return existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).private !== true
})

describe('package READMEs', () => {
  test.each(publishedPackages)('%s has a README.md', (dir) => {
    expect(existsSync(join(REPO, dir, 'README.md'))).toBe(true)
  })

  test('the core README has one line per folder of packages/core/src', () => {
    const folders = readdirSync(join(REPO, 'packages/core/src'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort()
    const readme = readFileSync(join(REPO, 'packages/core/README.md'), 'utf8')
    const described = [...readme.matchAll(/^\| `(\w+)\/` \|/gm)].map((match) => match[1]).sort()
    expect(described).toEqual(folders)
  })
})

import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { GIT_REVIEWED_NON_PROGRAM_KEYS } from '../src/gitProgramKeys.js'
import { GIT_HARDENING_CONFIG, GIT_PROGRAM_KEYS } from '../src/index.js'
import { gitConfigVerdict, trackedDirectories } from '../src/presets/gitConfigPolicy.js'
import { tempDir } from './tempDir.js'

/** Whether documented key `pattern` (`<placeholder>` and `*` parts match anything) covers `key`. */
function covers(pattern: string, key: string): boolean {
  const parts = pattern
    .toLowerCase()
    .split('.')
    .map((part) => (/^<[^>]*>$|^\*$/.test(part) ? '.+' : part.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')))
  return new RegExp(`^${parts.join('\\.')}$`).test(key.toLowerCase()) || identity(pattern) === identity(key)
}
const identity = (key: string) => key.toLowerCase().replace(/<[^>]*>/g, '<>')

/** The key names the installed git knows (its `git help --config` list, compiled from its documentation). */
const installedKeys = execFileSync('git', ['help', '--config'], { encoding: 'utf8' })
  .split('\n')
  .filter((line) => /^[a-z][\w-]*\./i.test(line))

describe('the derived table of git program keys', () => {
  test('covers every key of the installed git whose name says it is a program, or a reviewer ruled it out', () => {
    expect(installedKeys.length).toBeGreaterThan(500)
    const named = installedKeys.filter((key) =>
      /(cmd|command|program|editor|pager|helper|hook|driver|textconv|httpd|tunnel|viewer|browser)$/i.test(
        key,
      ),
    )
    const reviewed = [...GIT_PROGRAM_KEYS.map((k) => k.key), ...Object.keys(GIT_REVIEWED_NON_PROGRAM_KEYS)]
    const unclassified = named.filter((key) => !reviewed.some((pattern) => covers(pattern, key)))
    expect(unclassified, 'run scripts/derive-git-program-keys.mjs against this git version').toEqual([])
  })

  test('holds the keys the issue names, including those newer git adds', () => {
    const keys = GIT_PROGRAM_KEYS.map((k) => k.key)
    for (const key of [
      'gpg.ssh.defaultKeyCommand',
      'trailer.<key-alias>.cmd',
      'trailer.<key-alias>.command',
      'filter.<driver>.clean',
      'filter.<driver>.process',
      'diff.<driver>.textconv',
      'merge.<driver>.driver',
      'credential.<url>.helper',
      'core.sshCommand',
      'core.fsmonitor',
      'core.hooksPath',
      'sequence.editor',
      'gpg.program',
      'gpg.<format>.program',
      'uploadpack.packObjectsHook',
      'remote.<name>.receivepack',
      'remote.<name>.uploadpack',
      'include.path',
      'includeIf.<condition>.path',
      'hook.<friendly-name>.command',
    ])
      expect(keys).toContain(key)
    expect(GIT_REVIEWED_NON_PROGRAM_KEYS['url.<base>.insteadOf']).toMatch(/URL/)
  })

  test('every fixed key is set on every git call', () => {
    const set = new Set(GIT_HARDENING_CONFIG.map((entry) => entry.slice(0, entry.indexOf('=')).toLowerCase()))
    const fixed = GIT_PROGRAM_KEYS.filter((k) => !/[<*]/.test(k.key) && k.kind !== 'include')
    for (const { key } of fixed) {
      if (['core.gitproxy', 'man.viewer'].includes(key.toLowerCase())) continue
      expect(set, key).toContain(key.toLowerCase())
    }
  })
})

describe('gitConfigVerdict', () => {
  const root = tempDir('shell-git-verdict-')
  mkdirSync(path.join(root, '.git'))
  const roots = [{ path: root, write: true }]
  const entry = (key: string, value: string, origin = 'file:.git/config', scope = 'local') =>
    `${scope}\0${origin}\0${key}\n${value}\0`

  test('overrides each instance of a wildcard program key, and makes a filter optional', () => {
    const listing =
      entry('trailer.sign.cmd', 'touch x') +
      entry('filter.lfs.smudge', 'git-lfs smudge') +
      entry('diff.a=b.textconv', 'x') +
      entry('user.name', 'Test') +
      entry('core.pager', 'cat', 'command line:', 'command')
    expect(gitConfigVerdict(listing, root, roots)).toEqual({
      overrides: [
        ['trailer.sign.cmd', ''],
        ['filter.lfs.smudge', ''],
        ['filter.lfs.required', 'false'],
        ['diff.a=b.textconv', ''],
      ],
    })
  })

  test.each([
    ['include.path', 'other.cfg', /includes another configuration file/],
    ['includeif.gitdir:/.path', 'other.cfg', /includes another configuration file/],
    ['core.worktree', '/', /moves the work tree/],
    ['core.gitproxy', 'evil for example.org', /proxy command/],
    ['man.viewer', 'evil', /viewers/],
  ])('refuses a repository that sets %s', (key, value, reason) => {
    const verdict = gitConfigVerdict(entry(key, value), root, roots)
    expect(verdict).toMatchObject({ refuse: expect.stringMatching(reason) })
  })

  test('refuses configuration read from a file outside the roots (a .git file pointing elsewhere)', () => {
    expect(gitConfigVerdict(entry('user.name', 'x', 'file:/etc/gitconfig'), root, roots)).toEqual({
      refuse: 'the repository configuration is outside the allowed roots',
    })
    expect(gitConfigVerdict(entry('user.name', 'x', 'blob:HEAD:cfg'), root, roots)).toMatchObject({
      refuse: expect.stringMatching(/blob/),
    })
  })

  test('lists the directories of tracked files', () => {
    const dirs = trackedDirectories('.github/workflows/ci.yml\0../up/.x/y\0', path.join(root, 'sub'))
    expect(dirs).toContain(path.join(root, 'sub', '.github', 'workflows'))
    expect(dirs).toContain(path.join(root, 'sub', '.github'))
    expect(dirs).toContain(path.join(root, 'up', '.x'))
  })
})

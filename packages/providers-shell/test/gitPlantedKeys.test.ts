import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { GIT_PROGRAM_KEYS, shellProvider } from '../src/index.js'
import { sandboxOwned, tempDir } from './tempDir.js'
import { bwrapAvailable, callRun, NO_BWRAP } from './testContext.js'

/**
 * One planted configuration per row: a key of the derived table (GIT_PROGRAM_KEYS) set in the
 * repository's own `.git/config` to a program that creates a marker file, and the git subcommand that
 * makes git 2.39 run it. Each row is proven live first (plain git creates the marker), then run through
 * shell.run, which must create none. Rows marked `refused` are calls the provider turns down.
 */
interface PlantedKey {
  /** The row's name: the documented key and what triggers it. */
  name: string
  /** The GIT_PROGRAM_KEYS entry the row exercises (checked to be in the table). */
  key: string
  /** Configuration to plant; `mark(name)` is the path of a script that creates marker `name` and exits 1. */
  config: (tools: Tools) => Record<string, string>
  /** Extra work-tree or history changes, made with plain git before the configuration is planted. */
  prepare?: (repo: Repo) => void
  /** The git arguments (after `git`) that trigger the program. */
  argv: string[]
  /** The provider refuses the call itself (DENIED) rather than running it neutralised. */
  refused?: true
}

interface Tools {
  /** A script that touches marker `name` and fails. */
  mark(name: string): string
  /** A script that touches marker `name` and copies stdin (or its first argument) to stdout, as a filter would. */
  pass(name: string): string
  /** A hooks directory whose every hook touches a marker named after the hook. */
  hooks(): string
}

interface Repo {
  root: string
  git(...args: string[]): string
}

const SSH_KEY = 'key::ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLEEXAMPLE'
const HOOKS = [
  'pre-commit',
  'commit-msg',
  'post-commit',
  'reference-transaction',
  'post-checkout',
  'post-merge',
]

const modify = (repo: Repo) => writeFileSync(path.join(repo.root, 'a.txt'), 'one\nchanged\n')
const attributes = (repo: Repo) => {
  writeFileSync(path.join(repo.root, '.gitattributes'), '*.txt diff=evil merge=evil filter=evil\n')
  repo.git('add', '.gitattributes')
  repo.git('commit', '-q', '-m', 'attributes')
}
/** Attributes, and a change to a.txt on main that conflicts with branch `other`. */
const diverge = (repo: Repo) => {
  attributes(repo)
  writeFileSync(path.join(repo.root, 'a.txt'), 'mine\n')
  repo.git('commit', '-q', '-am', 'mine')
}
const stage = (repo: Repo) => {
  modify(repo)
  repo.git('add', 'a.txt')
}

const ROWS: PlantedKey[] = [
  {
    name: 'core.fsmonitor on status',
    key: 'core.fsmonitor',
    config: (t) => ({ 'core.fsmonitor': t.mark('fsmonitor') }),
    argv: ['status'],
  },
  {
    name: 'core.hooksPath on commit',
    key: 'core.hooksPath',
    config: (t) => ({ 'core.hooksPath': t.hooks() }),
    argv: ['commit', '--allow-empty', '-m', 'x'],
  },
  {
    name: 'core.hooksPath on checkout',
    key: 'core.hooksPath',
    config: (t) => ({ 'core.hooksPath': t.hooks() }),
    argv: ['checkout', 'other'],
  },
  {
    name: 'core.hooksPath on merge',
    key: 'core.hooksPath',
    config: (t) => ({ 'core.hooksPath': t.hooks() }),
    argv: ['merge', '--no-edit', 'side'],
  },
  {
    name: 'core.editor on commit without a message',
    key: 'core.editor',
    config: (t) => ({ 'core.editor': t.mark('editor') }),
    argv: ['commit', '--allow-empty'],
  },
  {
    name: 'diff.external on diff',
    key: 'diff.external',
    config: (t) => ({ 'diff.external': t.mark('external') }),
    prepare: modify,
    argv: ['diff'],
  },
  {
    name: 'diff.<driver>.command on diff',
    key: 'diff.<driver>.command',
    config: (t) => ({ 'diff.evil.command': t.mark('diff-command') }),
    prepare: (r) => {
      attributes(r)
      modify(r)
    },
    argv: ['diff'],
  },
  {
    name: 'diff.<driver>.textconv on diff',
    key: 'diff.<driver>.textconv',
    config: (t) => ({ 'diff.evil.textconv': t.pass('textconv') }),
    prepare: (r) => {
      attributes(r)
      modify(r)
    },
    argv: ['diff'],
  },
  {
    name: 'diff.<driver>.textconv on log -p',
    key: 'diff.<driver>.textconv',
    config: (t) => ({ 'diff.evil.textconv': t.pass('textconv') }),
    prepare: attributes,
    argv: ['log', '-p'],
  },
  {
    name: 'diff.<driver>.textconv on show',
    key: 'diff.<driver>.textconv',
    config: (t) => ({ 'diff.evil.textconv': t.pass('textconv') }),
    prepare: attributes,
    argv: ['show', 'other'],
  },
  {
    name: 'diff.<driver>.textconv on blame',
    key: 'diff.<driver>.textconv',
    config: (t) => ({ 'diff.evil.textconv': t.pass('textconv') }),
    prepare: attributes,
    argv: ['blame', 'a.txt'],
  },
  {
    name: 'diff.<driver>.textconv on status -v',
    key: 'diff.<driver>.textconv',
    config: (t) => ({ 'diff.evil.textconv': t.pass('textconv') }),
    prepare: (r) => {
      attributes(r)
      stage(r)
    },
    argv: ['status', '-v'],
  },
  {
    name: 'filter.<driver>.clean on add',
    key: 'filter.<driver>.clean',
    config: (t) => ({ 'filter.evil.clean': t.pass('clean') }),
    prepare: (r) => {
      attributes(r)
      modify(r)
    },
    argv: ['add', 'a.txt'],
  },
  {
    name: 'filter.<driver>.smudge on checkout',
    key: 'filter.<driver>.smudge',
    config: (t) => ({ 'filter.evil.smudge': t.pass('smudge') }),
    prepare: (r) => {
      attributes(r)
      rmSync(path.join(r.root, 'a.txt'))
    },
    argv: ['checkout', '--', 'a.txt'],
  },
  {
    name: 'filter.<driver>.smudge on restore',
    key: 'filter.<driver>.smudge',
    config: (t) => ({ 'filter.evil.smudge': t.pass('smudge') }),
    prepare: (r) => {
      attributes(r)
      rmSync(path.join(r.root, 'a.txt'))
    },
    argv: ['restore', 'a.txt'],
  },
  {
    name: 'filter.<driver>.process on add',
    key: 'filter.<driver>.process',
    config: (t) => ({ 'filter.evil.process': t.mark('process') }),
    prepare: (r) => {
      attributes(r)
      modify(r)
    },
    argv: ['add', 'a.txt'],
  },
  {
    name: 'merge.<driver>.driver on merge',
    key: 'merge.<driver>.driver',
    config: (t) => ({ 'merge.evil.driver': t.mark('merge-driver') }),
    prepare: diverge,
    argv: ['merge', '--no-edit', 'other'],
  },
  {
    name: 'merge.<driver>.driver on cherry-pick',
    key: 'merge.<driver>.driver',
    config: (t) => ({ 'merge.evil.driver': t.mark('merge-driver') }),
    prepare: diverge,
    argv: ['cherry-pick', 'other'],
  },
  {
    name: 'gpg.program with commit.gpgSign',
    key: 'gpg.program',
    config: (t) => ({ 'gpg.program': t.mark('gpg'), 'commit.gpgSign': 'true' }),
    argv: ['commit', '--allow-empty', '-m', 'x'],
  },
  {
    name: 'gpg.program on commit -S',
    key: 'gpg.program',
    config: (t) => ({ 'gpg.program': t.mark('gpg') }),
    argv: ['commit', '-S', '--allow-empty', '-m', 'x'],
  },
  {
    name: 'gpg.<format>.program (openpgp) on commit -S',
    key: 'gpg.<format>.program',
    config: (t) => ({ 'gpg.openpgp.program': t.mark('gpg-openpgp') }),
    argv: ['commit', '-S', '--allow-empty', '-m', 'x'],
  },
  {
    name: 'gpg.<format>.program (x509) with commit.gpgSign',
    key: 'gpg.<format>.program',
    config: (t) => ({ 'gpg.format': 'x509', 'gpg.x509.program': t.mark('gpgsm'), 'commit.gpgSign': 'true' }),
    argv: ['commit', '--allow-empty', '-m', 'x'],
  },
  {
    name: 'gpg.<format>.program (ssh) with commit.gpgSign',
    key: 'gpg.<format>.program',
    config: (t) => ({
      'gpg.format': 'ssh',
      'user.signingKey': SSH_KEY,
      'gpg.ssh.program': t.mark('ssh-keygen'),
      'commit.gpgSign': 'true',
    }),
    argv: ['commit', '--allow-empty', '-m', 'x'],
  },
  {
    name: 'gpg.ssh.defaultKeyCommand with commit.gpgSign',
    key: 'gpg.ssh.defaultKeyCommand',
    config: (t) => ({
      'gpg.format': 'ssh',
      'gpg.ssh.defaultKeyCommand': t.mark('default-key'),
      'commit.gpgSign': 'true',
    }),
    argv: ['commit', '--allow-empty', '-m', 'x'],
  },
  {
    name: 'gpg.program with tag.gpgSign',
    key: 'gpg.program',
    config: (t) => ({ 'gpg.program': t.mark('gpg'), 'tag.gpgSign': 'true' }),
    argv: ['tag', '-a', 'v1', '-m', 'x'],
  },
  {
    name: 'gpg.program with tag.forceSignAnnotated',
    key: 'gpg.program',
    config: (t) => ({ 'gpg.program': t.mark('gpg'), 'tag.forceSignAnnotated': 'true' }),
    argv: ['tag', '-m', 'x', 'v1'],
  },
  {
    name: 'gpg.program with log.showSignature',
    key: 'gpg.program',
    config: (t) => ({ 'gpg.program': t.mark('gpg'), 'log.showSignature': 'true' }),
    argv: ['log', '-1', 'signed'],
  },
  {
    name: 'gpg.program with merge.verifySignatures',
    key: 'gpg.program',
    config: (t) => ({ 'gpg.program': t.mark('gpg'), 'merge.verifySignatures': 'true' }),
    argv: ['merge', '--no-edit', 'signed'],
  },
  {
    name: 'trailer.<key-alias>.cmd on commit --trailer',
    key: 'trailer.<key-alias>.cmd',
    config: (t) => ({ 'trailer.sign.cmd': t.mark('trailer-cmd') }),
    argv: ['commit', '--allow-empty', '-m', 'x', '--trailer', 'sign: me'],
  },
  {
    name: 'trailer.<key-alias>.command on commit --trailer',
    key: 'trailer.<key-alias>.command',
    config: (t) => ({ 'trailer.sign.command': t.mark('trailer-command') }),
    argv: ['commit', '--allow-empty', '-m', 'x', '--trailer', 'sign: me'],
  },
  {
    name: 'include.path naming a file that sets core.fsmonitor',
    key: 'include.path',
    config: (t) => ({ 'include.path': included(t) }),
    argv: ['status'],
    refused: true,
  },
  {
    name: 'includeIf.<condition>.path naming such a file',
    key: 'includeIf.<condition>.path',
    config: (t) => ({ 'includeIf.gitdir:/.path': included(t) }),
    argv: ['status'],
    refused: true,
  },
  {
    name: 'man.<tool>.cmd on --help',
    key: 'man.<tool>.cmd',
    config: (t) => ({ 'man.viewer': 'evil', 'man.evil.cmd': t.mark('man') }),
    argv: ['status', '--help'],
    refused: true,
  },
  {
    name: 'alias.* on an alias',
    key: 'alias.*',
    config: (t) => ({ 'alias.st': `!${t.mark('alias')}` }),
    argv: ['st'],
    refused: true,
  },
]

/** A configuration file next to the repository that sets core.fsmonitor to a marker program. */
function included(t: Tools): string {
  const file = path.join(path.dirname(t.mark('x')), 'included.cfg')
  writeFileSync(file, `[core]\n\tfsmonitor = ${t.mark('included-fsmonitor')}\n`)
  return file
}

/**
 * A repository with a commit on `main`, a conflicting branch `other`, a branch `side` that merges
 * cleanly, and a branch `signed` whose tip carries a (fake) PGP signature; its tools and markers live
 * inside the root, so a planted program would be able to run and leave its marker even in the sandbox.
 */
function plantedRepo(row: PlantedKey): { root: string; markers: string; tools: Tools } {
  const root = tempDir('shell-planted-')
  const markers = path.join(root, 'markers')
  const toolDir = path.join(root, 'tools')
  mkdirSync(markers)
  mkdirSync(toolDir)
  // World-writable, so whichever uid the sandbox runs commands as could leave a marker.
  chmodSync(markers, 0o777)
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: root, env: plainGitEnv(root), encoding: 'utf8' })
  const script = (name: string, body: string) => {
    const file = path.join(toolDir, name)
    writeFileSync(file, `#!/bin/sh\ntouch ${markers}/${name.replace(/^(mark|pass)-/, '')}\n${body}\n`)
    chmodSync(file, 0o755)
    return file
  }
  const tools: Tools = {
    mark: (name) => script(`mark-${name}`, 'exit 1'),
    pass: (name) => script(`pass-${name}`, 'if [ $# -gt 0 ]; then exec cat "$1"; else exec cat; fi'),
    hooks: () => {
      const dir = path.join(root, 'hooks')
      mkdirSync(dir, { recursive: true })
      for (const hook of HOOKS) {
        writeFileSync(path.join(dir, hook), `#!/bin/sh\ntouch ${markers}/hook-${hook}\n`)
        chmodSync(path.join(dir, hook), 0o755)
      }
      return dir
    },
  }
  git('init', '-q', '-b', 'main', '.')
  git('config', 'user.name', 'Test')
  git('config', 'user.email', 'test@example.org')
  writeFileSync(path.join(root, '.gitignore'), 'markers/\ntools/\nhooks/\n*.cfg\n')
  writeFileSync(path.join(root, 'a.txt'), 'one\n')
  git('add', 'a.txt', '.gitignore')
  git('commit', '-q', '-m', 'init')
  git('checkout', '-q', '-b', 'other')
  writeFileSync(path.join(root, 'a.txt'), 'other\n')
  git('commit', '-q', '-am', 'other')
  git('checkout', '-q', '-b', 'side', 'main')
  writeFileSync(path.join(root, 'b.txt'), 'side\n')
  git('add', 'b.txt')
  git('commit', '-q', '-m', 'side')
  git('checkout', '-q', 'main')
  const tree = git('rev-parse', 'HEAD^{tree}').trim()
  const parent = git('rev-parse', 'HEAD').trim()
  const signedCommit = [
    `tree ${tree}`,
    `parent ${parent}`,
    'author Test <test@example.org> 1700000000 +0000',
    'committer Test <test@example.org> 1700000000 +0000',
    'gpgsig -----BEGIN PGP SIGNATURE-----',
    ' ',
    ' iQEzBAABCAAdFiEE',
    ' -----END PGP SIGNATURE-----',
    '',
    'signed',
    '',
  ].join('\n')
  const signed = execFileSync('git', ['hash-object', '-w', '-t', 'commit', '--stdin'], {
    cwd: root,
    env: plainGitEnv(root),
    input: signedCommit,
    encoding: 'utf8',
  }).trim()
  git('branch', 'signed', signed)
  row.prepare?.({ root, git })
  for (const [key, value] of Object.entries(row.config(tools))) git('config', key, value)
  return { root, markers, tools }
}

/** Plain git as a user would run it: no system or global configuration, nothing else changed. */
function plainGitEnv(root: string): NodeJS.ProcessEnv {
  return { PATH: '/usr/bin:/bin', HOME: root, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' }
}

const SUBCOMMANDS = [
  'status',
  'diff',
  'log',
  'show',
  'blame',
  'add',
  'commit',
  'checkout',
  'restore',
  'merge',
  'cherry-pick',
  'tag',
]

describe('git configuration keys planted in .git/config', () => {
  test('every row names a key of the derived table', () => {
    const keys = new Set(GIT_PROGRAM_KEYS.map((k) => k.key))
    for (const row of ROWS) expect(keys, row.name).toContain(row.key)
  })

  test.each(ROWS.map((row) => [row.name, row] as const))(
    '%s runs a program under plain git (control)',
    (_name, row) => {
      const { root, markers } = plantedRepo(row)
      spawnSync('git', row.argv, { cwd: root, env: plainGitEnv(root), stdio: 'ignore', timeout: 20_000 })
      expect(readdirSync(markers).length, 'plain git should have run the planted program').toBeGreaterThan(0)
    },
  )

  if (!bwrapAvailable)
    test.skip(`runs none of them through shell.run (sandbox bwrap) — ${NO_BWRAP}`, () => {})

  const modes = bwrapAvailable ? (['none', 'bwrap'] as const) : (['none'] as const)
  const cases = modes.flatMap((sandbox) => ROWS.map((row) => [sandbox, row.name, row] as const))
  test.each(cases)('sandbox %s: %s runs nothing through shell.run', async (sandbox, _name, row) => {
    const { root, markers } = plantedRepo(row)
    // As root, sandboxed commands act as the owner of their writable root (git checks it owns the repository).
    if (sandbox === 'bwrap') sandboxOwned(root)
    const provider = shellProvider({
      commands: { git: { subcommands: SUBCOMMANDS } },
      roots: [{ path: root, write: true }],
      sandbox,
    })
    const call = callRun(provider, { argv: ['git', ...row.argv] })
    if (row.refused) await expect(call).rejects.toMatchObject({ code: 'DENIED' })
    else await call
    expect(readdirSync(markers)).toEqual([])
  })
})

import { execFileSync } from 'node:child_process'
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { DEFAULT_HIDDEN_PATTERNS } from '@capsule/provider-sdk'
import { describe, expect, test } from 'vitest'
import { findHiddenPaths, HiddenPathPolicy } from '../src/hiddenPaths.js'
import { shellProvider } from '../src/index.js'
import { sandboxOwned, tempDir } from './tempDir.js'
import { bwrapAvailable, callRun, NO_BWRAP } from './testContext.js'

/** Secrets planted in files the files provider refuses; no command output may ever contain one. */
const SECRETS = {
  '.env': 'hunter2-env-secret',
  '.npmrc': 'npm-token-secret',
  'keys/server.pem': 'pem-key-secret',
  'config/id_rsa': 'rsa-key-secret',
  'sub/.env.local': 'local-env-secret',
  '.venv/lib/site.py': 'venv-file-secret',
}
const GIT_CREDENTIAL = 'gitcred-secret'

/**
 * A work tree holding every kind of hidden file, a git repository whose configuration carries a
 * credential, a tracked file in a hidden directory, and a symlink to `.env`.
 */
function secretTree(): string {
  const root = tempDir('shell-hidden-')
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: root,
      env: { PATH: '/usr/bin:/bin', HOME: root, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
    })
  git('init', '-q', '-b', 'main', '.')
  git('config', 'user.name', 'Test')
  git('config', 'user.email', 'test@example.org')
  git('config', 'remote.origin.url', `https://user:${GIT_CREDENTIAL}@example.org/repo.git`)
  writeFileSync(path.join(root, 'a.txt'), 'hello secret-free\n')
  mkdirSync(path.join(root, '.github', 'workflows'), { recursive: true })
  writeFileSync(path.join(root, '.github', 'workflows', 'ci.yml'), 'ci: tracked\n')
  writeFileSync(path.join(root, '.gitignore'), '.env\n.venv/\n')
  git('add', 'a.txt', '.gitignore', '.github')
  git('commit', '-q', '-m', 'init')
  for (const [file, secret] of Object.entries(SECRETS)) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true })
    writeFileSync(path.join(root, file), `TOKEN=${secret}\n`)
  }
  symlinkSync('.env', path.join(root, 'notes-link'))
  return root
}

const COMMANDS = {
  cat: {},
  grep: {},
  find: {},
  tar: {},
  sort: {},
  wc: {},
  ls: {},
  // No preset: nothing checks its operands, so only the sandbox keeps hidden files from it.
  head: {},
  git: { subcommands: ['status', 'grep', 'log', 'show', 'diff', 'add', 'commit'] },
}

/** Calls that would print a hidden file's content; each must be refused or come back without it. */
const READS: Array<[string, string[]]> = [
  ['head on .env (no preset)', ['head', '-c', '200', '.env']],
  ['head on .git/config (no preset)', ['head', '-c', '400', '.git/config']],
  ['head on a key file (no preset)', ['head', 'keys/server.pem']],
  ['head on a symlink to .env (no preset)', ['head', 'notes-link']],
  ['grep -r', ['grep', '-r', 'secret', '.']],
  ['tar of the whole tree', ['tar', '-cf', '-', '.']],
  ['git grep --untracked', ['git', 'grep', '--untracked', '-i', 'secret']],
  [
    'git grep --untracked --no-exclude-standard',
    ['git', 'grep', '--untracked', '--no-exclude-standard', 'secret'],
  ],
]

/** Calls naming a hidden path: refused by the argument checks, with or without the sandbox. */
const REFUSED: Array<[string, string[]]> = [
  ['cat .env', ['cat', '.env']],
  ['cat through a symlink', ['cat', 'notes-link']],
  ['cat .git/config', ['cat', '.git/config']],
  ['cat a key file', ['cat', 'config/id_rsa']],
  ['grep -f .npmrc', ['grep', '-f', '.npmrc', 'a.txt']],
  ['grep in .env', ['grep', 'TOKEN', '.env']],
  ['grep -r .venv', ['grep', '-r', 'TOKEN', '.venv']],
  ['grep -ra .git', ['grep', '-ra', 'secret', '.git']],
  ['find -newer .env', ['find', '.', '-newer', '.env']],
  ['find -exec cat', ['find', '.', '-name', '*.pem', '-exec', 'cat', '{}', ';']],
  ['tar of .env', ['tar', '-cf', '-', '.env']],
  ['tar -T .env', ['tar', '--verbatim-files-from', '-cf', '-', '-T', '.env']],
  ['sort .env', ['sort', '.env']],
  ['wc sub/.env.local', ['wc', '-c', 'sub/.env.local']],
  ['git grep --no-index', ['git', 'grep', '--no-index', 'TOKEN', '.env']],
  ['git add --pathspec-from-file=.git/config', ['git', 'add', '--pathspec-from-file=.git/config']],
]

function expectNoSecret(result: { stdout: string; stderr: string }, what: string) {
  for (const secret of [...Object.values(SECRETS), GIT_CREDENTIAL]) {
    expect(result.stdout, `${what}: stdout`).not.toContain(secret)
    expect(result.stderr, `${what}: stderr`).not.toContain(secret)
  }
}

describe('hidden files are the files provider’s hidden files', () => {
  test('the shell hides the SDK’s patterns, case-insensitively, as the files provider does', () => {
    expect(DEFAULT_HIDDEN_PATTERNS).toEqual(expect.arrayContaining(['.*', '*.pem', 'id_rsa*']))
    for (const name of [
      '.env',
      '.git',
      'server.PEM',
      'id_rsa.pub',
      'x.key',
      'cert.p12',
      'a.pfx',
      'id_ed25519',
    ])
      expect(HiddenPathPolicy.isHiddenName(name), name).toBe(true)
    for (const name of ['env', 'a.txt', 'pem', 'rsa_id'])
      expect(HiddenPathPolicy.isHiddenName(name), name).toBe(false)
    const policy = new HiddenPathPolicy(['.github/workflows/*.yml'])
    expect(policy.isHidden('.github/workflows/ci.yml', 'file')).toBe(false)
    expect(policy.isHidden('.github', 'dir')).toBe(false)
    expect(policy.isHidden('.github/CODEOWNERS', 'file')).toBe(true)
    expect(policy.isHidden('src/.env', 'file')).toBe(true)
  })

  test('a walk masks hidden files and directories, not what allowHidden opts back in', async () => {
    const root = secretTree()
    const masks = await findHiddenPaths(
      [{ path: root, write: false }],
      new HiddenPathPolicy(['.github/**']),
      {
        maxEntries: 1000,
      },
    )
    const rel = masks.map((m) => `${path.relative(root, m.path)}:${m.kind}`).sort()
    expect(rel).toEqual([
      '.env:file',
      '.git:dir',
      '.gitignore:file',
      '.npmrc:file',
      '.venv:dir',
      'config/id_rsa:file',
      'keys/server.pem:file',
      'sub/.env.local:file',
    ])
  })

  test('a walk past maxHiddenScanEntries refuses the run', async () => {
    const root = secretTree()
    await expect(
      findHiddenPaths([{ path: root, write: false }], new HiddenPathPolicy(), { maxEntries: 3 }),
    ).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' })
  })
})

describe.each(bwrapAvailable ? (['none', 'bwrap'] as const) : (['none'] as const))(
  'shell.run and hidden files (sandbox %s)',
  (sandbox) => {
    test.each(REFUSED)('refuses %s', async (_name, argv) => {
      const root = secretTree()
      if (sandbox === 'bwrap') sandboxOwned(root)
      const provider = shellProvider({ commands: COMMANDS, roots: [{ path: root, write: true }], sandbox })
      await expect(callRun(provider, { argv })).rejects.toMatchObject({ code: 'DENIED' })
    })

    test('refuses a cwd inside a hidden directory', async () => {
      const root = secretTree()
      if (sandbox === 'bwrap') sandboxOwned(root)
      const provider = shellProvider({ commands: COMMANDS, roots: [{ path: root, write: true }], sandbox })
      await expect(callRun(provider, { argv: ['ls'], cwd: path.join(root, '.venv') })).rejects.toMatchObject({
        code: 'DENIED',
      })
    })
  },
)

describe('shell.run inside bubblewrap shows no hidden file', () => {
  if (!bwrapAvailable) test.skip(`reads nothing hidden — ${NO_BWRAP}`, () => {})

  test.runIf(bwrapAvailable).each(READS)('%s prints no secret', async (name, argv) => {
    const root = sandboxOwned(secretTree())
    const provider = shellProvider({
      commands: COMMANDS,
      roots: [{ path: root, write: true }],
      sandbox: 'bwrap',
    })
    const result = await callRun(provider, { argv })
    expectNoSecret(result, name)
  })

  test.runIf(bwrapAvailable)('the same reads print the secrets without the provider (control)', () => {
    const root = secretTree()
    const run = (argv: string[]) =>
      execFileSync(argv[0]!, argv.slice(1), { cwd: root, encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } })
    expect(run(['grep', '-r', 'secret', '.'])).toContain(SECRETS['.env'])
    expect(run(['head', '-c', '400', '.git/config'])).toContain(GIT_CREDENTIAL)
    expect(run(['git', 'grep', '--untracked', '--no-exclude-standard', 'secret'])).toContain(SECRETS['.env'])
  })

  test.runIf(bwrapAvailable)('git still works: it commits ordinary files and sees its own', async () => {
    const root = sandboxOwned(secretTree())
    const provider = shellProvider({
      commands: COMMANDS,
      roots: [{ path: root, write: true }],
      sandbox: 'bwrap',
    })
    writeFileSync(path.join(root, 'b.txt'), 'new\n')
    execFileSync('chown', ['--reference', root, path.join(root, 'b.txt')])
    expect((await callRun(provider, { argv: ['git', 'add', 'b.txt'] })).returncode).toBe(0)
    const commit = await callRun(provider, { argv: ['git', 'commit', '-q', '-m', 'second'] })
    expect(commit.returncode, commit.stderr).toBe(0)
    const log = await callRun(provider, { argv: ['git', 'log', '--format=%s', '--', 'b.txt', '.gitignore'] })
    expect(log.stdout).toBe('second\ninit\n')
    // A tracked file in a hidden directory is masked, not deleted: git sees it changed, never gone.
    const status = await callRun(provider, { argv: ['git', 'status', '--porcelain'] })
    expect(status.stdout).toContain('.github/workflows/ci.yml')
    expect(status.stdout).not.toMatch(/^ ?D/m)
  })

  test.runIf(bwrapAvailable)('allowHidden opts a path back in', async () => {
    const root = sandboxOwned(secretTree())
    const provider = shellProvider({
      commands: COMMANDS,
      roots: [{ path: root, write: true }],
      sandbox: 'bwrap',
      allowHidden: ['.github/**'],
    })
    const result = await callRun(provider, { argv: ['cat', '.github/workflows/ci.yml'] })
    expect(result.stdout).toBe('ci: tracked\n')
    expectNoSecret(await callRun(provider, { argv: ['grep', '-r', 'secret', '.'] }), 'grep -r')
  })
})

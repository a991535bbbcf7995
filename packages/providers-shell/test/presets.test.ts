import { mkdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, test } from 'vitest'
import { shellProvider } from '../src/index.js'
import { tempDir } from './tempDir.js'
import { callRun } from './testContext.js'

let root: string
let provider: ReturnType<typeof shellProvider>

beforeAll(() => {
  root = tempDir('shell-presets-')
  mkdirSync(path.join(root, 'dir'))
  writeFileSync(path.join(root, 'dir', 'a.txt'), 'alpha\nbeta\n')
  provider = shellProvider({
    commands: {
      git: {},
      find: {},
      grep: {},
      ls: {},
      wc: {},
      cat: {},
      // ripgrep is not installed here; its rules run before anything is executed.
      rg: { path: '/usr/bin/true', preset: 'rg' },
      tar: { denyFlags: ['--checkpoint-action', '--to-command', '--use-compress-program', '-I'] },
      printf: {
        allowFlags: ['-v'],
        validate: (argv) => (argv.includes('forbidden') ? 'the word forbidden is refused' : undefined),
      },
    },
    roots: [{ path: root, write: true }],
    sandbox: 'none',
  })
})

const refused: Array<[string, string[]]> = [
  ['git -c', ['git', '-c', 'core.pager=touch x', 'log']],
  ['git -c attached', ['git', '-ccore.pager=x', 'log']],
  ['git -C', ['git', '-C', '/', 'status']],
  ['git --git-dir', ['git', '--git-dir=/etc', 'status']],
  ['git --work-tree', ['git', '--work-tree', '/', 'status']],
  ['git --exec-path', ['git', '--exec-path=/tmp', 'status']],
  ['git --config-env', ['git', '--config-env=core.pager=X', 'log']],
  ['git --upload-pack', ['git', 'log', '--upload-pack=touch /tmp/x']],
  ['git --upload-pack abbreviated', ['git', 'log', '--upload-p=touch']],
  ['git --receive-pack', ['git', 'log', '--receive-pack', 'x']],
  ['git diff --ext-diff', ['git', 'diff', '--ext-diff']],
  ['git diff --textconv', ['git', 'diff', '--textconv']],
  ['git diff --no-index', ['git', 'diff', '--no-index', '/etc/passwd', 'dir/a.txt']],
  ['git diff --output', ['git', 'diff', '--output=/tmp/owned']],
  ['git grep -O', ['git', 'grep', '-O', 'alpha']],
  ['git grep -Ocat', ['git', 'grep', '-Ocat', 'alpha']],
  ['git grep cluster -nO', ['git', 'grep', '-nO', 'alpha']],
  ['git grep --open-files-in-pager', ['git', 'grep', '--open-files-in-pager=vi', 'alpha']],
  ['git grep -f', ['git', 'grep', '-f', '/etc/passwd']],
  ['git blame --contents', ['git', 'blame', '--contents', '/etc/passwd', 'dir/a.txt']],
  ['git log --show-signature', ['git', 'log', '--show-signature']],
  ['git push', ['git', 'push']],
  ['git config', ['git', 'config', 'core.pager', 'x']],
  ['git alias', ['git', 'st']],
  ['git branch create', ['git', 'branch', 'new']],
  ['git branch delete', ['git', 'branch', '-D', 'main']],
  ['find -exec', ['find', '.', '-exec', 'touch', '{}', ';']],
  ['find -execdir', ['find', '.', '-execdir', 'id', '+']],
  ['find -ok', ['find', '.', '-ok', 'id', ';']],
  ['find -delete', ['find', '.', '-delete']],
  ['find -fprint', ['find', '.', '-fprint', '/tmp/x']],
  ['find -fls', ['find', '.', '-fls', '/tmp/x']],
  ['find -L', ['find', '-L', '.']],
  ['find outside', ['find', '/etc', '-name', 'passwd']],
  ['grep -R', ['grep', '-R', 'x', '.']],
  ['grep -rR cluster', ['grep', '-rR', 'x', '.']],
  ['grep outside', ['grep', 'root', '/etc/passwd']],
  ['grep -f outside', ['grep', '-f', '/etc/passwd', 'dir/a.txt']],
  ['rg --pre', ['rg', '--pre', 'sh', 'x']],
  ['rg --pre=', ['rg', '--pre=/bin/sh', 'x']],
  ['rg --pre-glob', ['rg', '--pre-glob', '*', 'x']],
  ['rg -z', ['rg', '-z', 'x']],
  ['rg -iz cluster', ['rg', '-iz', 'x']],
  ['rg --search-zip', ['rg', '--search-zip', 'x']],
  ['rg --follow', ['rg', '--follow', 'x']],
  ['rg --files outside', ['rg', '--files', '/etc']],
  ['rg outside', ['rg', 'x', '/etc']],
  ['ls -L', ['ls', '-L', 'dir']],
  ['ls outside', ['ls', '/']],
  ['wc --files0-from', ['wc', '--files0-from=list']],
  ['cat outside', ['cat', '/etc/hostname']],
  ['tar -I', ['tar', '-cf', 'x.tar', '-I', 'sh', 'dir']],
  ['tar -I in a cluster', ['tar', '-cIsh', 'dir']],
  ['tar --to-command', ['tar', '-xf', 'x.tar', '--to-command=sh']],
  ['tar --checkpoint-action', ['tar', '--checkpoint-action=exec=sh', '-cf', 'x.tar', 'dir']],
  ['allowFlags', ['printf', '--help']],
  ['validate', ['printf', 'forbidden']],
]

describe('preset argument rules', () => {
  test.each(refused)('refuses %s', async (_name, argv) => {
    await expect(callRun(provider, { argv })).rejects.toMatchObject({ code: 'DENIED' })
  })

  test.each([
    ['git log', ['git', 'log', '--oneline']],
    ['git diff --text', ['git', 'diff', '--text']],
    ['git branch --list', ['git', 'branch', '--list', 'ma*']],
    ['git grep -e with a value that looks like a denied option', ['git', 'grep', '-e', '-O']],
    ['find with a name test', ['find', '.', '-name', '*.txt', '-type', 'f']],
    ['grep -rn', ['grep', '-rn', 'alpha', 'dir']],
    ['grep with an absolute-looking pattern', ['grep', '-e', '/etc/passwd', 'dir/a.txt']],
    ['rg with a pattern', ['rg', '-i', 'alpha', 'dir']],
    ['ls -la', ['ls', '-la', 'dir']],
    ['wc -l', ['wc', '-l', 'dir/a.txt']],
    ['cat after --', ['cat', '--', 'dir/a.txt']],
    ['printf -v', ['printf', '-v']],
  ])('allows %s', async (_name, argv) => {
    const result = await callRun(provider, { argv })
    expect(result.args).toEqual(argv)
  })

  test('finds files without running anything', async () => {
    const result = await callRun(provider, { argv: ['find', '.', '-name', '*.txt'] })
    expect(result.stdout).toBe('./dir/a.txt\n')
  })
})

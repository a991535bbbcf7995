import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, test } from 'vitest'
import { shellProvider } from '../src/index.js'
import { tempDir } from './tempDir.js'
import { callRun } from './testContext.js'

// Every option of a preset whose value is a file, with a file outside the roots (OUT) or beside them:
// each must be refused before anything runs. The allowed rows are the same options aimed inside.

let base: string
let root: string
let provider: ReturnType<typeof shellProvider>
const OUT = () => path.join(base, 'outside', 'secret.txt')
const OUTDIR = () => path.join(base, 'outside')

beforeAll(() => {
  base = tempDir('shell-operands-')
  root = path.join(base, 'root')
  mkdirSync(path.join(root, 'dir'), { recursive: true })
  mkdirSync(path.join(base, 'outside'))
  writeFileSync(OUT(), 'outside secret\n')
  writeFileSync(path.join(root, 'dir', 'a.txt'), 'alpha\nbeta\n')
  writeFileSync(path.join(root, 'list.txt'), 'dir/a.txt\n')
  writeFileSync(path.join(root, 'patterns.txt'), 'alpha\n')
  execFileSync('git', ['init', '-q', root])
  provider = shellProvider({
    commands: {
      find: {},
      grep: {},
      // ripgrep is not installed here; its rules run before anything is executed.
      rg: { path: '/usr/bin/true', preset: 'rg' },
      tar: {},
      sort: {},
      ls: {},
      cat: {},
      wc: {},
      git: {
        subcommands: [
          'status',
          'diff',
          'ls-files',
          'add',
          'checkout',
          'reset',
          'rm',
          'stash',
          'commit',
          'apply',
          'notes',
          'restore',
        ],
      },
    },
    roots: [{ path: root, write: true }],
    sandbox: 'none',
  })
})

const refused: Array<[string, () => string[]]> = [
  ['find start point', () => ['find', OUTDIR()]],
  ['find -newer', () => ['find', '.', '-newer', OUT()]],
  ['find -anewer', () => ['find', '.', '-anewer', OUT()]],
  ['find -cnewer', () => ['find', '.', '-cnewer', OUT()]],
  ['find -newermm', () => ['find', '.', '-newermm', OUT()]],
  ['find -newerBa', () => ['find', '.', '-newerBa', OUT()]],
  ['find -samefile', () => ['find', '.', '-samefile', OUT()]],
  ['find -newer after another test', () => ['find', '.', '-name', 'x', '-o', '-newer', OUT()]],
  ['find -newer through ..', () => ['find', '.', '-newer', '../outside/secret.txt']],
  ['find -newer with nothing after it', () => ['find', '.', '-newer']],
  ['grep -f', () => ['grep', '-f', OUT(), 'dir/a.txt']],
  ['grep -f attached', () => ['grep', `-f${OUT()}`, 'dir/a.txt']],
  ['grep --file=', () => ['grep', `--file=${OUT()}`, 'dir/a.txt']],
  ['grep --file next argument', () => ['grep', '--file', OUT(), 'dir/a.txt']],
  ['grep --fil= (abbreviated)', () => ['grep', `--fil=${OUT()}`, 'dir/a.txt']],
  ['grep --fil next argument (abbreviated)', () => ['grep', '--fil', OUT(), 'dir/a.txt']],
  ['grep --exclude-from=', () => ['grep', '-r', `--exclude-from=${OUT()}`, 'alpha', 'dir']],
  ['grep --exclude-f= (abbreviated)', () => ['grep', '-r', `--exclude-f=${OUT()}`, 'alpha', 'dir']],
  ['rg -f', () => ['rg', '-f', OUT(), 'dir']],
  ['rg --file=', () => ['rg', `--file=${OUT()}`, 'dir']],
  ['rg --ignore-file', () => ['rg', '--ignore-file', OUT(), 'x', 'dir']],
  ['tar -f (archive outside)', () => ['tar', '-cf', path.join(OUTDIR(), 'x.tar'), 'dir']],
  ['tar --file=', () => ['tar', '-c', `--file=${path.join(OUTDIR(), 'x.tar')}`, 'dir']],
  ['tar operand', () => ['tar', '-cf', 'x.tar', OUT()]],
  ['tar -C', () => ['tar', '-cf', 'x.tar', '-C', OUTDIR(), 'secret.txt']],
  ['tar --directory=', () => ['tar', '-cf', 'x.tar', `--directory=${OUTDIR()}`, 'secret.txt']],
  ['tar --dir= (abbreviated)', () => ['tar', '-cf', 'x.tar', `--dir=${OUTDIR()}`, 'secret.txt']],
  ['tar -T', () => ['tar', '--verbatim-files-from', '-cf', 'x.tar', '-T', OUT()]],
  ['tar -T without --verbatim-files-from', () => ['tar', '-cf', 'x.tar', '-T', 'list.txt']],
  ['tar -X', () => ['tar', '-cf', 'x.tar', '-X', OUT(), 'dir']],
  ['tar --exclude-from=', () => ['tar', '-cf', 'x.tar', `--exclude-from=${OUT()}`, 'dir']],
  ['tar -g', () => ['tar', '-cf', 'x.tar', '-g', path.join(OUTDIR(), 'snar'), 'dir']],
  ['tar --listed-incremental=', () => ['tar', '-cf', 'x.tar', `--listed-incremental=${OUT()}`, 'dir']],
  ['tar --index-file=', () => ['tar', '-cf', 'x.tar', `--index-file=${path.join(OUTDIR(), 'i')}`, 'dir']],
  ['tar --volno-file=', () => ['tar', '-cf', 'x.tar', `--volno-file=${OUT()}`, 'dir']],
  ['tar -N reference file', () => ['tar', '-cf', 'x.tar', '-N', OUT(), 'dir']],
  ['tar --newer= reference file', () => ['tar', '-cf', 'x.tar', `--newer=${OUT()}`, 'dir']],
  ['tar --mtime= reference file', () => ['tar', '-cf', 'x.tar', '--mtime=../outside/secret.txt', 'dir']],
  ['tar remote archive host:file', () => ['tar', '-cf', 'localhost:x.tar', 'dir']],
  ['tar old-style bundle', () => ['tar', 'cf', 'x.tar', 'dir']],
  ['tar -P', () => ['tar', '-cPf', 'x.tar', 'dir']],
  ['tar -h', () => ['tar', '-chf', 'x.tar', 'dir']],
  ['tar --use-comp (abbreviated)', () => ['tar', '-cf', 'x.tar', '--use-comp=sh', 'dir']],
  ['tar --to-command', () => ['tar', '-xf', 'x.tar', '--to-command=sh']],
  ['sort operand', () => ['sort', OUT()]],
  ['sort -o', () => ['sort', '-o', path.join(OUTDIR(), 'sorted'), 'dir/a.txt']],
  ['sort -o attached', () => ['sort', `-o${path.join(OUTDIR(), 'sorted')}`, 'dir/a.txt']],
  ['sort --output=', () => ['sort', `--output=${path.join(OUTDIR(), 'sorted')}`, 'dir/a.txt']],
  ['sort --out= (abbreviated)', () => ['sort', `--out=${path.join(OUTDIR(), 'sorted')}`, 'dir/a.txt']],
  ['sort -T', () => ['sort', '-T', OUTDIR(), 'dir/a.txt']],
  ['sort --temporary-directory=', () => ['sort', `--temporary-directory=${OUTDIR()}`, 'dir/a.txt']],
  ['sort --random-source=', () => ['sort', '-R', `--random-source=${OUT()}`, 'dir/a.txt']],
  ['sort --files0-from', () => ['sort', '--files0-from=list.txt']],
  ['sort --compress-program', () => ['sort', '--compress-program=sh', 'dir/a.txt']],
  ['sort --compress-p (abbreviated)', () => ['sort', '--compress-p=sh', 'dir/a.txt']],
  ['ls operand', () => ['ls', OUTDIR()]],
  ['cat operand', () => ['cat', OUT()]],
  ['wc operand', () => ['wc', '-l', OUT()]],
  ['git add --pathspec-from-file', () => ['git', 'add', `--pathspec-from-file=${OUT()}`]],
  ['git add --pathspec-from (abbreviated)', () => ['git', 'add', '--pathspec-from', OUT()]],
  ['git checkout --pathspec-from-file', () => ['git', 'checkout', '--pathspec-from-file', OUT()]],
  ['git restore --pathspec-from-file', () => ['git', 'restore', `--pathspec-from-file=${OUT()}`]],
  ['git reset --pathspec-from-file', () => ['git', 'reset', `--pathspec-from-file=${OUT()}`]],
  ['git rm --pathspec-from-file', () => ['git', 'rm', `--pathspec-from-file=${OUT()}`]],
  ['git commit --pathspec-from-file', () => ['git', 'commit', '-m', 'x', `--pathspec-from-file=${OUT()}`]],
  ['git stash push --pathspec-from-file', () => ['git', 'stash', 'push', `--pathspec-from-file=${OUT()}`]],
  ['git ls-files -X', () => ['git', 'ls-files', '-o', '-i', '-X', OUT()]],
  ['git ls-files --exclude-from=', () => ['git', 'ls-files', '-o', '-i', `--exclude-from=${OUT()}`]],
  ['git apply a patch outside', () => ['git', 'apply', '--check', OUT()]],
  ['git notes add -F', () => ['git', 'notes', 'add', '-F', OUT()]],
  ['git status --help', () => ['git', 'status', '--help']],
  ['git status --ignore-submodules', () => ['git', 'status', '--ignore-submodules=none']],
  ['git checkout --recurse-submodules', () => ['git', 'checkout', '--recurse-submodules', 'main']],
  ['git diff --submodule=diff', () => ['git', 'diff', '--submodule=diff']],
]

const allowed: Array<[string, () => string[]]> = [
  ['find -newer inside', () => ['find', '.', '-newer', 'list.txt']],
  ['find -newermt takes a date', () => ['find', '.', '-newermt', '2000-01-01', '-name', 'a.txt']],
  ['grep -f inside', () => ['grep', '-f', 'patterns.txt', 'dir/a.txt']],
  ['grep --files-with-matches is no --file', () => ['grep', '-r', '--files-with-matches', 'alpha', 'dir']],
  ['tar -cf inside', () => ['tar', '-cf', 'x.tar', 'dir']],
  ['tar --newer= date', () => ['tar', '-cf', 'y.tar', '--newer=2000-01-01', 'dir']],
  [
    'tar -T with --verbatim-files-from',
    () => ['tar', '--verbatim-files-from', '-cf', 'z.tar', '-T', 'list.txt'],
  ],
  ['tar --checkpoint is not --checkpoint-action', () => ['tar', '--checkpoint=1000', '-cf', 'w.tar', 'dir']],
  ['sort -o inside', () => ['sort', '-o', 'sorted.txt', 'dir/a.txt']],
  ['git ls-files -X inside', () => ['git', 'ls-files', '-o', '-X', 'list.txt']],
  ['git add --pathspec-from-file inside', () => ['git', 'add', '--pathspec-from-file=list.txt']],
]

describe('path-like operands of every preset', () => {
  test.each(refused)('refuses %s', async (_name, argv) => {
    const before = readdirSync(OUTDIR())
    await expect(callRun(provider, { argv: argv() })).rejects.toMatchObject({ code: 'DENIED' })
    expect(readdirSync(OUTDIR())).toEqual(before)
  })

  test.each(allowed)('allows %s', async (_name, argv) => {
    const result = await callRun(provider, { argv: argv() })
    expect(result.returncode, result.stderr).toBe(0)
  })
})

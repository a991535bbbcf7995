import { lstatSync } from 'node:fs'
import path from 'node:path'
import { checkFlags, type OptionSyntax, optionIs, scanArgs } from '../argvScan.js'
import type { ResolvedRoot } from '../pathGuard.js'
import { checkPathOperands, pathOperandRefusal } from './pathOperands.js'
import type { PresetCheck } from './presetContext.js'

/** Subcommands allowed when a git rule lists no `subcommands`: they only read the repository. */
export const GIT_READ_ONLY_SUBCOMMANDS: readonly string[] = [
  'status',
  'log',
  'diff',
  'show',
  'ls-files',
  'ls-tree',
  'rev-parse',
  'rev-list',
  'grep',
  'blame',
  'branch',
  'cat-file',
  'describe',
  'shortlog',
  'for-each-ref',
  'show-ref',
  'merge-base',
  'name-rev',
  'diff-tree',
  'diff-files',
  'diff-index',
  'version',
]

/**
 * Subcommands a host may add to `subcommands` without `dangerous: true`: they write, but only inside
 * the repository, and the hardening neutralises the programs they could start (hooks, editors, drivers).
 * Any other subcommand (fetch, push, clone, submodule, config, init, worktree, archive, bisect, rebase,
 * difftool, filter-branch…) can run programs or touch paths outside the roots and needs `dangerous: true`.
 */
export const GIT_WRITE_SUBCOMMANDS: readonly string[] = [
  'add',
  'commit',
  'checkout',
  'switch',
  'restore',
  'reset',
  'stash',
  'merge',
  'tag',
  'mv',
  'rm',
  'apply',
  'cherry-pick',
  'revert',
  'notes',
]

/** Options allowed before the subcommand. Everything else there (`-c`, `-C`, `--git-dir`, `--exec-path`…) is refused. */
export const GIT_GLOBAL_OPTIONS: readonly string[] = [
  '--no-pager',
  '-P',
  '--literal-pathspecs',
  '--glob-pathspecs',
  '--noglob-pathspecs',
  '--icase-pathspecs',
  '--no-optional-locks',
  '--no-replace-objects',
]

/**
 * Options refused after any subcommand: they run programs (`--upload-pack`, `--receive-pack`, `--exec`,
 * `--ext-diff`, `--textconv`, `--filters`, `-O`/`--open-files-in-pager`, `--show-signature`, `--help`,
 * which starts a man viewer or browser), run git in submodules whose configuration is not checked
 * (`--recurse-submodules`, `--ignore-submodules`, `--submodule`), write or read files outside the
 * repository (`--output`, `--no-index`, `--contents`, `--template`, `--file`, `--unsafe-paths`,
 * `--ignore-revs-file`, orderfiles) or move the repository (`--git-dir`, `--work-tree`).
 */
export const GIT_DENIED_FLAGS: readonly string[] = [
  '--upload-pack',
  '--receive-pack',
  '--exec',
  '--exec-path',
  '--ext-diff',
  '--textconv',
  '--filters',
  '--open-files-in-pager',
  '-O',
  '--orderfile',
  '--show-signature',
  '--output',
  '--output-directory',
  '--no-index',
  '--contents',
  '--template',
  '--file',
  '--unsafe-paths',
  '--directory',
  '--ignore-revs-file',
  '--git-dir',
  '--work-tree',
  '--config-env',
  '--namespace',
  '--super-prefix',
  '--remote',
  '--help',
  '--recurse-submodules',
  '--ignore-submodules',
  '--submodule',
]

/** Extra refusals per subcommand (short letters that mean different things elsewhere). */
const SUBCOMMAND_DENIED_FLAGS: Readonly<Record<string, readonly string[]>> = {
  grep: ['-f'],
  blame: ['-S'],
  commit: ['-F', '-t'],
  tag: ['-F'],
  merge: ['-F'],
  notes: ['-F'],
}

/** Real git options that are prefixes of denied ones, so they are not taken for abbreviations. */
const GIT_EXACT_OPTIONS: readonly string[] = ['--text', '--filter', '--no-textconv', '--no-ext-diff']

/** Options of any subcommand whose value is a file git reads (`-` is stdin). */
const GIT_PATH_OPTIONS: readonly string[] = ['--pathspec-from-file']

const SUBCOMMAND_SYNTAX: Readonly<Record<string, OptionSyntax>> = {
  grep: { shortWithValue: 'efABCm' },
  log: { shortWithValue: 'SGnL' },
  show: { shortWithValue: 'SGnL' },
  diff: { shortWithValue: 'SG' },
  blame: { shortWithValue: 'L' },
  'ls-files': {
    shortWithValue: 'Xx',
    longWithValue: ['--exclude-from', '--exclude', '--exclude-per-directory'],
  },
}

/** Per-subcommand options whose value is a file git reads. */
const SUBCOMMAND_PATH_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  'ls-files': ['-X', '--exclude-from'],
}

/** Subcommands whose operands are files git reads (patches), not pathspecs inside the repository. */
const FILE_OPERAND_SUBCOMMANDS: readonly string[] = ['apply']

/** `git branch` options that only list. */
const BRANCH_LIST_OPTIONS: readonly string[] = [
  '--list',
  '-l',
  '-a',
  '--all',
  '-r',
  '--remotes',
  '-v',
  '-vv',
  '--verbose',
  '--show-current',
  '--contains',
  '--no-contains',
  '--merged',
  '--no-merged',
  '--sort',
  '--format',
  '--points-at',
  '--color',
  '--no-color',
  '--column',
  '--no-column',
  '-i',
  '--ignore-case',
  '--abbrev',
  '--no-abbrev',
  '--omit-empty',
]

/** Splits git arguments into global options, the subcommand and its arguments. */
export function splitGitArgs(args: readonly string[]): {
  globals: string[]
  subcommand?: string
  rest: string[]
} {
  let i = 0
  while (i < args.length && args[i]!.startsWith('-')) i++
  return { globals: args.slice(0, i), subcommand: args[i], rest: args.slice(i + 1) }
}

/**
 * `git`: only listed global options, a subcommand from the allowlist (default
 * {@link GIT_READ_ONLY_SUBCOMMANDS}), no {@link GIT_DENIED_FLAGS}, and `branch` only lists. Files git
 * is told to read (`--pathspec-from-file`, `ls-files -X`, `apply` patches) must be inside a root and not
 * hidden. Without bubblewrap nothing masks hidden files, so operands naming an existing hidden path
 * (`git add -f .env`) and `grep --untracked` are refused as well.
 */
export const checkGitArgs: PresetCheck = (args, ctx) => {
  const { globals, subcommand, rest } = splitGitArgs(args)
  if (subcommand === undefined) {
    return globals.length === 1 && globals[0] === '--version' ? undefined : 'git needs a subcommand'
  }
  const badGlobal = globals.find((g) => !GIT_GLOBAL_OPTIONS.includes(g))
  if (badGlobal !== undefined) return `git option ${badGlobal} is not allowed before the subcommand`
  const allowed = ctx.subcommands ?? GIT_READ_ONLY_SUBCOMMANDS
  if (!allowed.includes(subcommand)) return `git ${subcommand} is not an allowed subcommand`
  const syntax = SUBCOMMAND_SYNTAX[subcommand] ?? {}
  const { options, operands } = scanArgs(rest, {
    ...syntax,
    longWithValue: [...GIT_PATH_OPTIONS, ...(syntax.longWithValue ?? [])],
  })
  const denyFlags = [...GIT_DENIED_FLAGS, ...(SUBCOMMAND_DENIED_FLAGS[subcommand] ?? [])]
  const reason = checkFlags(options, { denyFlags, exactOptions: GIT_EXACT_OPTIONS })
  if (reason !== undefined) return `git ${subcommand}: ${reason}`
  const pathOptions = [...GIT_PATH_OPTIONS, ...(SUBCOMMAND_PATH_OPTIONS[subcommand] ?? [])]
  const files = options.filter((o) => o.value !== undefined && optionIs(o, pathOptions)).map((o) => o.value!)
  if (FILE_OPERAND_SUBCOMMANDS.includes(subcommand)) files.push(...operands)
  const fileReason = checkPathOperands(files, ctx)
  if (fileReason !== undefined) return `git ${subcommand}: ${fileReason}`
  if (ctx.sandbox === 'none') {
    if (subcommand === 'grep' && options.some((o) => optionIs(o, ['--untracked', '--no-exclude-standard'])))
      return 'git grep: --untracked is not allowed without the sandbox (it would read hidden files)'
    const hidden = operands.find(
      (operand) => exists(path.resolve(ctx.cwd, operand)) && pathOperandRefusal(operand, ctx) !== undefined,
    )
    if (hidden !== undefined) return `git ${subcommand}: ${pathOperandRefusal(hidden, ctx)}`
  }
  if (subcommand === 'branch') {
    const notListing = options.find((o) => !BRANCH_LIST_OPTIONS.includes(o.flag))
    if (notListing !== undefined) return `git branch ${notListing.flag} is not allowed (branch may only list)`
    const listing = options.some((o) => o.flag === '--list' || o.flag === '-l')
    if (operands.length > 0 && !listing) return 'git branch may only list (use --list <pattern>)'
  }
  return undefined
}

/** Subcommands that accept `--no-textconv --no-ext-diff`, given first so diff drivers never run. */
const NO_DRIVER_SUBCOMMANDS: readonly string[] = ['diff', 'log', 'show', 'blame']

/** The environment every git call gets: no system or global config, no prompts, no discovery above the roots. */
export function gitEnvironment(roots: readonly ResolvedRoot[]): Record<string, string> {
  return {
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_OPTIONAL_LOCKS: '0',
    GIT_PAGER: 'cat',
    PAGER: 'cat',
    GIT_ATTR_NOSYSTEM: '1',
    GIT_CEILING_DIRECTORIES: [...new Set(roots.map((r) => path.dirname(r.path)))].join(':'),
  }
}

/**
 * The final git arguments: the user's, with `--no-textconv --no-ext-diff` (blame: `--no-textconv`)
 * right after subcommands that would otherwise run diff drivers. The configuration that neutralises
 * programs travels in the environment (see gitConfigPolicy.ts).
 */
export function hardenGitArgs(args: readonly string[]): string[] {
  const { globals, subcommand, rest } = splitGitArgs(args)
  if (subcommand === undefined) return [...globals]
  const drivers = NO_DRIVER_SUBCOMMANDS.includes(subcommand) ? ['--no-textconv', '--no-ext-diff'] : []
  if (subcommand === 'blame') drivers.pop()
  return [...globals, subcommand, ...drivers, ...rest]
}

function exists(target: string): boolean {
  try {
    lstatSync(target)
    return true
  } catch {
    return false
  }
}

import path from 'node:path'
import { checkFlags, type OptionSyntax, scanArgs } from '../argvScan.js'
import type { ResolvedRoot } from '../pathGuard.js'
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
 * `--ext-diff`, `--textconv`, `--filters`, `-O`/`--open-files-in-pager`, `--show-signature`), write
 * or read files outside the repository (`--output`, `--no-index`, `--contents`, `--template`, `--file`,
 * `--unsafe-paths`, `--ignore-revs-file`, orderfiles) or move the repository (`--git-dir`, `--work-tree`).
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
]

/** Extra refusals per subcommand (short letters that mean different things elsewhere). */
const SUBCOMMAND_DENIED_FLAGS: Readonly<Record<string, readonly string[]>> = {
  grep: ['-f'],
  blame: ['-S'],
  commit: ['-F', '-t'],
  tag: ['-F'],
  merge: ['-F'],
}

/** Real git options that are prefixes of denied ones, so they are not taken for abbreviations. */
const GIT_EXACT_OPTIONS: readonly string[] = ['--text', '--filter', '--no-textconv', '--no-ext-diff']

const SUBCOMMAND_SYNTAX: Readonly<Record<string, OptionSyntax>> = {
  grep: { shortWithValue: 'efABCm' },
  log: { shortWithValue: 'SGnL' },
  show: { shortWithValue: 'SGnL' },
  diff: { shortWithValue: 'SG' },
  blame: { shortWithValue: 'L' },
}

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
 * {@link GIT_READ_ONLY_SUBCOMMANDS}), no {@link GIT_DENIED_FLAGS}, and `branch` only lists.
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
  const { options, operands } = scanArgs(rest, SUBCOMMAND_SYNTAX[subcommand] ?? {})
  const denyFlags = [...GIT_DENIED_FLAGS, ...(SUBCOMMAND_DENIED_FLAGS[subcommand] ?? [])]
  const reason = checkFlags(options, { denyFlags, exactOptions: GIT_EXACT_OPTIONS })
  if (reason !== undefined) return `git ${subcommand}: ${reason}`
  if (subcommand === 'branch') {
    const notListing = options.find((o) => !BRANCH_LIST_OPTIONS.includes(o.flag))
    if (notListing !== undefined) return `git branch ${notListing.flag} is not allowed (branch may only list)`
    const listing = options.some((o) => o.flag === '--list' || o.flag === '-l')
    if (operands.length > 0 && !listing) return 'git branch may only list (use --list <pattern>)'
  }
  return undefined
}

/**
 * Configuration passed with `-c` on every git call. Command-line configuration beats the repository's
 * `.git/config`, so programs named there (fsmonitor, hooks, pager, editors, ssh, credential helpers,
 * gpg, external diff) are never started.
 */
export const GIT_HARDENING_CONFIG: readonly string[] = [
  'core.fsmonitor=false',
  'core.hooksPath=/dev/null',
  'core.pager=cat',
  'core.editor=false',
  'sequence.editor=false',
  'core.sshCommand=false',
  'core.askPass=',
  'core.gitProxy=',
  'core.attributesFile=/dev/null',
  'credential.helper=',
  'diff.external=',
  'diff.ignoreSubmodules=all',
  'submodule.recurse=false',
  'status.submoduleSummary=false',
  'gpg.program=false',
  'gpg.openpgp.program=false',
  'gpg.ssh.program=false',
  'gpg.x509.program=false',
  'log.showSignature=false',
  'protocol.ext.allow=never',
]

/**
 * Repository configuration keys that name programs per driver or per remote; they cannot be overridden
 * by a fixed list, so each one found in the repository's configuration is overridden by name.
 */
export const GIT_PROGRAM_KEY_PATTERN =
  /^(filter\..+\.(clean|smudge|process)|diff\..+\.(textconv|command)|merge\..+\.driver|pager\..+|remote\..+\.(uploadpack|receivepack|vcs)|credential\..+\.helper|interactive\.difffilter|core\.alternaterefscommand|difftool\..+\.cmd|mergetool\..+\.cmd|man\..+\.(cmd|path)|browser\..+\.(cmd|path)|sendemail\..+|uploadpack\.packobjectshook)$/i

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

/** The final git arguments: hardening `-c`s (fixed, then per-key `overrides`), the user's, driver switches. */
export function hardenGitArgs(args: readonly string[], overrides: readonly string[]): string[] {
  const { globals, subcommand, rest } = splitGitArgs(args)
  const config = [...GIT_HARDENING_CONFIG, ...overrides.map((key) => `${key}=`)].flatMap((c) => ['-c', c])
  if (subcommand === undefined) return [...config, ...globals]
  const drivers = NO_DRIVER_SUBCOMMANDS.includes(subcommand) ? ['--no-textconv', '--no-ext-diff'] : []
  if (subcommand === 'blame') drivers.pop()
  return [...config, ...globals, subcommand, ...drivers, ...rest]
}

/** Arguments of the preflight that lists the effective configuration (it runs no program). */
export function gitConfigListArgs(): string[] {
  return [...GIT_HARDENING_CONFIG.flatMap((c) => ['-c', c]), 'config', '--list', '-z']
}

/**
 * Reads `git config --list -z` output: the keys to override, or a reason to refuse (a key git's `-c`
 * cannot name, or `core.worktree`, which would move the work tree outside the roots).
 */
export function gitOverridesFromConfigList(listing: string): string[] | { refuse: string } {
  const keys = new Set<string>()
  for (const entry of listing.split('\0')) {
    if (entry === '') continue
    const newline = entry.indexOf('\n')
    const key = newline === -1 ? entry : entry.slice(0, newline)
    if (key.toLowerCase() === 'core.worktree') return { refuse: 'repository config sets core.worktree' }
    if (!GIT_PROGRAM_KEY_PATTERN.test(key)) continue
    if (key.includes('='))
      return { refuse: `repository config key ${JSON.stringify(key)} cannot be neutralised` }
    keys.add(key)
  }
  return [...keys]
}

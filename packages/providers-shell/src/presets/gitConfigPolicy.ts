import path from 'node:path'
import { GIT_PROGRAM_KEYS } from '../gitProgramKeys.js'
import { type ResolvedRoot, realpathLenient, rootOf } from '../pathGuard.js'

/** A key as git compares keys: lowercase, every `<placeholder>` the same. */
function identity(key: string): string {
  return key.toLowerCase().replace(/<[^>]*>/g, '<>')
}

/**
 * Values that neutralise a program key where the empty value does not: git runs `:` as "no editor",
 * treats `/dev/null` as a hooks directory holding nothing, and takes git-upload-pack/git-receive-pack as
 * the defaults they are. `false` where git would otherwise crash on an empty command (a BUG() abort for
 * gpg.ssh.defaultKeyCommand) or fall back to a default program. Every other key is set to the empty
 * value, which git takes as "unset" (filters, pagers, credential helpers) or fails to execute (an empty
 * program name is never found on PATH), so nothing runs.
 */
const NEUTRAL_VALUES: Readonly<Record<string, string>> = {
  'core.editor': ':',
  'sequence.editor': ':',
  'core.fsmonitor': 'false',
  'core.hookspath': '/dev/null',
  'core.pager': 'cat',
  'core.sshcommand': 'false',
  'gpg.ssh.defaultkeycommand': 'false',
  'remote.<>.uploadpack': 'git-upload-pack',
  'remote.<>.receivepack': 'git-receive-pack',
  'submodule.<>.update': 'none',
}

/**
 * Program keys a later value cannot neutralise, so a repository that sets one is refused: includes pull
 * in files whose keys the preflight would have to follow and re-check as they change, and the
 * multi-valued keys below are used first-match (core.gitProxy) or appended to (man.viewer).
 */
const REFUSED_KEYS: Readonly<Record<string, string>> = {
  'include.path': 'includes another configuration file',
  'includeif.<>.path': 'includes another configuration file',
  'core.gitproxy': 'names a proxy command a later value cannot replace',
  'man.viewer': 'names viewers a later value cannot remove',
  // Not a program, but it moves the work tree anywhere on the host.
  'core.worktree': 'moves the work tree',
}

/**
 * Configuration outside the derived table that makes git start programs or leave processes behind:
 * signing and verification run gpg, ssh-keygen or gpgsm; automatic gc and maintenance start background
 * git processes that outlive the command; submodule recursion runs git in submodules, whose own
 * configuration is not preflighted; ext:: URLs run commands.
 */
const TRIGGER_OVERRIDES: readonly (readonly [string, string])[] = [
  ['commit.gpgSign', 'false'],
  ['tag.gpgSign', 'false'],
  ['tag.forceSignAnnotated', 'false'],
  ['push.gpgSign', 'false'],
  ['merge.verifySignatures', 'false'],
  ['log.showSignature', 'false'],
  // gpg.<format>.program is per format: the formats git knows get no program either.
  ['gpg.openpgp.program', ''],
  ['gpg.x509.program', ''],
  ['gpg.ssh.program', ''],
  ['gc.auto', '0'],
  ['gc.autoDetach', 'false'],
  ['maintenance.auto', 'false'],
  ['core.attributesFile', '/dev/null'],
  ['diff.ignoreSubmodules', 'all'],
  ['submodule.recurse', 'false'],
  ['status.submoduleSummary', 'false'],
  ['protocol.ext.allow', 'never'],
]

const neutralValue = (key: string): string => NEUTRAL_VALUES[identity(key)] ?? ''

const isWildcard = (key: string) => key.includes('<') || key.includes('*')

/** A documented wildcard key as a pattern over listed keys: each placeholder or `*` is any subsection. */
function wildcardPattern(key: string): RegExp {
  const parts = key
    .split('.')
    .map((part) => (/^<[^>]*>$|^\*$/.test(part) ? '.+' : part.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')))
  return new RegExp(`^${parts.join('\\.')}$`, 'i')
}

const FIXED_KEYS = GIT_PROGRAM_KEYS.filter((k) => !isWildcard(k.key) && !(identity(k.key) in REFUSED_KEYS))
const WILDCARDS = GIT_PROGRAM_KEYS.filter((k) => isWildcard(k.key)).map((k) => ({
  key: k.key,
  pattern: wildcardPattern(k.key),
}))

/**
 * The configuration given to every git call, as `key=value`: each fixed program key of the derived
 * table (gitProgramKeys.ts) set to its neutral value, then {@link TRIGGER_OVERRIDES}. Command-line
 * configuration is read after the repository's, so a planted `.git/config` cannot name a program for
 * these keys. Per-driver, per-remote and per-token keys are found in the repository and overridden one
 * by one (see {@link gitConfigVerdict}).
 */
export const GIT_HARDENING_CONFIG: readonly string[] = Object.freeze([
  ...FIXED_KEYS.map((k) => `${k.key}=${neutralValue(k.key)}`),
  ...TRIGGER_OVERRIDES.map(([key, value]) => `${key}=${value}`),
])

/** Key/value pairs as environment variables git reads as command-line configuration (git ≥ 2.31). */
export function gitConfigEnvironment(pairs: readonly (readonly [string, string])[]): Record<string, string> {
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(pairs.length) }
  pairs.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key
    env[`GIT_CONFIG_VALUE_${i}`] = value
  })
  return env
}

/** {@link GIT_HARDENING_CONFIG} as key/value pairs. */
export function gitHardeningPairs(): [string, string][] {
  return GIT_HARDENING_CONFIG.map((entry) => {
    const eq = entry.indexOf('=')
    return [entry.slice(0, eq), entry.slice(eq + 1)]
  })
}

/** Arguments of the preflight that lists the repository's configuration with scopes and origins; it runs nothing. */
export const GIT_CONFIG_LIST_ARGS: readonly string[] = [
  'config',
  '--list',
  '--show-scope',
  '--show-origin',
  '-z',
]

/** What the preflight decided: extra overrides for the real run, or why the run is refused. */
export type GitConfigVerdict = { overrides: [string, string][] } | { refuse: string }

/**
 * Reads the preflight's `git config --list --show-scope --show-origin -z` output. Every key from a
 * configuration file (not our command line) is checked: a key in {@link REFUSED_KEYS}, or a file outside
 * the roots (a `.git` file pointing at another repository), refuses the run; an instance of a wildcard
 * program key (`trailer.sign.cmd`, `filter.lfs.smudge`) gets its own neutral override, and a filter driver
 * is also made optional so git passes content through instead of failing.
 */
export function gitConfigVerdict(
  listing: string,
  cwd: string,
  roots: readonly ResolvedRoot[],
): GitConfigVerdict {
  const fields = listing.split('\0')
  const overrides = new Map<string, string>()
  for (let i = 0; i + 2 < fields.length; i += 3) {
    const scope = fields[i]!
    const origin = fields[i + 1]!
    const entry = fields[i + 2]!
    if (scope === 'command') continue
    const newline = entry.indexOf('\n')
    const key = newline === -1 ? entry : entry.slice(0, newline)
    if (!origin.startsWith('file:')) return { refuse: `repository configuration comes from ${origin}` }
    const file = realpathLenient(origin.slice('file:'.length), cwd)
    if (file === undefined || rootOf(file, roots) === undefined)
      return { refuse: 'the repository configuration is outside the allowed roots' }
    const refused = Object.entries(REFUSED_KEYS).find(([refusedKey]) =>
      isWildcard(refusedKey) ? wildcardPattern(refusedKey).test(key) : refusedKey === key.toLowerCase(),
    )
    if (refused !== undefined) return { refuse: `repository configuration sets ${key}, which ${refused[1]}` }
    const wildcard = WILDCARDS.find((w) => w.pattern.test(key))
    if (wildcard === undefined) continue
    overrides.set(key, neutralValue(wildcard.key))
    const filter = /^filter\.(.+)\.(clean|smudge|process)$/i.exec(key)
    if (filter !== null) overrides.set(`filter.${filter[1]}.required`, 'false')
  }
  return { overrides: [...overrides] }
}

/**
 * Pathspecs (for `git ls-files`, from the top of the work tree) of tracked files below a directory with
 * a hidden name: those directories are masked file by file in the sandbox, so git reports their files
 * changed instead of deleted.
 */
export function trackedHiddenPathspecs(hiddenPatterns: readonly string[]): string[] {
  return hiddenPatterns.map((pattern) => `:(top,glob,icase)**/${pattern}/**`)
}

/** The real directories holding the tracked files a `git ls-files -z` run in `cwd` listed. */
export function trackedDirectories(listing: string, cwd: string): Set<string> {
  const dirs = new Set<string>()
  for (const file of listing.split('\0')) {
    if (file === '') continue
    for (let dir = path.dirname(path.resolve(cwd, file)); !dirs.has(dir); dir = path.dirname(dir)) {
      dirs.add(dir)
      if (dir === path.dirname(dir)) break
    }
  }
  return dirs
}

// Derives the table of git configuration keys whose value names something git executes (a command,
// program, helper, hook, editor, pager or the path of an executable) from git's own documentation, and
// writes it to packages/providers-shell/src/gitProgramKeys.ts, which the shell provider's git hardening
// reads. Run it against a clone of git (https://github.com/git/git) whenever git is upgraded:
//
//   node scripts/derive-git-program-keys.mjs <git-clone> [<rev>...]      (default revs: v2.39.5 HEAD)
//   node scripts/derive-git-program-keys.mjs <git-clone> --check [<rev>...]  (exit 1 if the table is stale)
//
// How a key is chosen: every `key::` heading of Documentation/**/*.{txt,adoc} (git-config's own pages,
// plus the CONFIGURATION sections of command pages such as git-archive and git-interpret-trailers) is
// read with the text below it. A key is a candidate when its name or its description matches one of
// RULES (wording git uses for such values). Candidates are in the table unless NOT_PROGRAM names them
// with the reason a human reviewer gave; keys the wording misses are added from ALSO_PROGRAM, again with
// a reason. Wildcard keys keep git's placeholders (`trailer.<key-alias>.cmd`), and scoped wildcards
// (`credential.<url>.*`, `sendemail.<identity>.<config>`) are expanded over the program keys of their
// section. Over-inclusion is the safe error: a key in the table is only ever overridden or refused.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const OUTPUT = path.join(
  path.dirname(fileURLToPath(import.meta.url)),
  '../packages/providers-shell/src/gitProgramKeys.ts',
)

/**
 * Wording that says a value is something git runs: the key's own name (`sshCommand`, `toCmd`,
 * `packObjectsHook`) or phrases of its description. The first rule that matches labels the key.
 */
const RULES = [
  {
    kind: 'name',
    on: 'key',
    pattern: /(cmd|command|program|editor|pager|helper|hook|driver|textconv|httpd|tunnel|viewer|browser)$/i,
  },
  {
    kind: 'command',
    on: 'text',
    pattern:
      /\b(shell )?commands? (to|that|which|will|is|are|should|must|can|used)\b.{0,40}\b(run|execut|invok|us|call|spawn)/,
  },
  {
    kind: 'command',
    on: 'text',
    pattern:
      /\b(run|execute|invoke|spawn)s? (the |a |an |this )?(given |specified |configured )?(shell )?(command|program|script|executable|helper|tool)/,
  },
  {
    kind: 'command',
    on: 'text',
    pattern: /\b(is|are|will be|gets|get) (run|executed|invoked|spawned|called)\b/,
  },
  { kind: 'command', on: 'text', pattern: /\bshell (command|snippet|one-?liner|script)/ },
  {
    kind: 'command',
    on: 'text',
    pattern: /\b(command that implements|driver command|command-line to start)\b/,
  },
  {
    kind: 'program',
    on: 'text',
    pattern:
      /\b(path ?name|path|name|full path|absolute path)s? (of|to|for) (the |a |an |given )?(program|executable|binary|script|command|helper|editor|pager|tool|browser|viewer)/,
  },
  {
    kind: 'program',
    on: 'text',
    pattern:
      /\b(program|executable|binary|script|helper|editor|pager|viewer|browser|tool)s? (to|that|which) (use|run|invoke|be used|will be used|is used|should be used|execute|may be used)/,
  },
  {
    kind: 'program',
    on: 'text',
    pattern:
      /\b(specif(y|ies)|override|instead of|use|uses|set|sets|name|names|can be)\b.{0,30}\b(command|program|executable|helper|editor|pager|viewer|browser|script)s?\b/,
  },
  { kind: 'program', on: 'text', pattern: /\boverride the path\b/ },
  { kind: 'editor', on: 'text', pattern: /\b(text )?editor\b/ },
  { kind: 'helper', on: 'text', pattern: /\bhelpers?\b/ },
  { kind: 'hook', on: 'text', pattern: /\bhooks?\b/ },
]

/** Candidates a reviewer read and found to name nothing git executes, with what the value is. */
const NOT_PROGRAM = {
  'advice.*': 'boolean hints',
  'alias.*.command': 'the target of an alias, covered by alias.* (newer git)',
  'branch.<name>.rebase': 'a mode (true, false, merges, interactive)',
  'color.diff': 'a color switch',
  'color.pager': 'a boolean',
  'color.ui': 'a color switch',
  'column.ui': 'a layout',
  'commit.status': 'a boolean',
  'config.worktree': 'a file name in gitrepository-layout(5), not a key',
  'core.bigFileThreshold': 'a size',
  'core.commentChar': 'a character',
  'core.commentString': 'a string',
  'core.fsmonitorHookVersion': 'a protocol version number',
  'core.quotePath': 'a boolean',
  'credential.interactive': 'a boolean',
  'credential.protectProtocol': 'a boolean',
  'diff.<driver>.cachetextconv': 'a boolean',
  'diff.dirstat': 'a parameter list',
  'diff.statGraphWidth': 'a width',
  'diff.statNameWidth': 'a width',
  'extensions.*': 'repository format extensions',
  'fastimport.unpackLimit': 'a count',
  'fetch.writeCommitGraph': 'a boolean',
  'format.coverLetter': 'a boolean',
  'fsck.<msg-id>': 'a severity',
  'fsck.skipList': 'a data file of object names',
  'gc.auto': 'a count (the hardening sets it to 0 anyway)',
  'gc.bigPackThreshold': 'a size',
  'gc.pruneExpire': 'a date',
  'gc.rerereResolved': 'a duration',
  'gc.rerereUnresolved': 'a duration',
  'gc.worktreePruneExpire': 'a date',
  'gc.writeCommitGraph': 'a boolean',
  'git-p4.skipSubmitEdit': 'a boolean',
  'gitcvs.dbDriver': 'the name of a Perl DBI driver',
  'gitcvs.dbTableNamePrefix': 'a string',
  'gitweb.owner': 'a name',
  'grep.fallbackToNoIndex': 'a boolean',
  'gui.blamehistoryctx': 'a context size',
  'guitool.<name>.needsFile': 'a boolean',
  'guitool.<name>.noConsole': 'a boolean',
  'help.autoCorrect': 'a delay or mode; it only corrects unknown subcommands, which the provider refuses',
  'hook.<event>.enabled': 'a boolean',
  'hook.<event>.jobs': 'a count',
  'hook.<friendly-name>.enabled': 'a boolean',
  'hook.<friendly-name>.parallel': 'a boolean',
  'hook.jobs': 'a count',
  'http.emptyAuth': 'a boolean',
  'http.minSessions': 'a count',
  'http.proactiveAuth': 'an authentication mode',
  'http.receivepack': 'a boolean (git-http-backend service switch)',
  'http.uploadarchive': 'a boolean (git-http-backend service switch)',
  'log.date': 'a date format',
  'maintenance.<task>.enabled': 'a boolean',
  'maintenance.commit-graph.auto': 'a count',
  'maintenance.geometric-repack.auto': 'a count',
  'maintenance.incremental-repack.auto': 'a count',
  'maintenance.loose-objects.auto': 'a count',
  'maintenance.reflog-expire.auto': 'a count',
  'maintenance.rerere-gc.auto': 'a count',
  'maintenance.strategy': 'a schedule name',
  'maintenance.worktree-prune.auto': 'a count',
  'merge.defaultToUpstream': 'a boolean',
  'mergetool.<tool>.trustExitCode': 'a boolean',
  'protocol.<name>.allow': 'a policy (the hardening sets protocol.ext.allow=never)',
  'protocol.allow': 'a policy',
  'pull.rebase': 'a mode',
  'push.default': 'a mode',
  'rebase.abbreviateCommands': 'a boolean',
  'rebase.missingCommitsCheck': 'a level',
  'receive.certNonceSlop': 'a duration',
  'receive.denyCurrentBranch': 'a policy',
  'receive.procReceiveRefs': 'ref prefixes',
  'repack.writeBitmaps': 'a boolean',
  'safe.directory': 'a trusted path, read from protected configuration only',
  'sendemail.aliasFileType': 'a format name',
  'sendemail.multiEdit': 'a boolean',
  'sharedindex.<SHA-1>': 'a file name in gitrepository-layout(5), not a key',
  'submodule.<name>.fetchRecurseSubmodules': 'a mode',
  'submodule.<name>.ignore': 'a mode',
  'svn-remote.<name>.automkdirs': 'a boolean',
  'svn-remote.<name>.noMetadata': 'a boolean',
  'svn-remote.<name>.useSvmProps': 'a boolean',
  'svn.noMetadata': 'a boolean',
  'svn.useSvmProps': 'a boolean',
  'url.<base>.insteadOf': 'a URL prefix; ext:: URLs are refused by protocol.ext.allow=never',
}

/** Program keys the wording above does not find, each with where git documents that it runs something. */
const ALSO_PROGRAM = {
  'filter.<driver>.process': ['command', 'long-running filter process; documented in gitattributes(5) prose'],
  'include.path': ['include', 'pulls in another configuration file; documented in git-config(1) prose'],
  'includeIf.<condition>.path': ['include', 'conditional include; documented in git-config(1) prose'],
  'sendemail.smtpServer': [
    'program',
    'may be the path of a sendmail-like program (git-send-email(1), --smtp-server)',
  ],
  'submodule.<name>.update': ['command', '"!command" runs a shell command (gitmodules(5), git-submodule(1))'],
}

function usage(message) {
  console.error(
    `${message}\nusage: node scripts/derive-git-program-keys.mjs <git-clone> [--check] [<rev>...]`,
  )
  process.exit(2)
}

const argv = process.argv.slice(2)
const check = argv.includes('--check')
const [repo, ...givenRevs] = argv.filter((a) => a !== '--check')
if (repo === undefined) usage('missing the path of a git clone')
const revs = givenRevs.length > 0 ? givenRevs : ['v2.39.5', 'HEAD']
const git = (...args) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8', maxBuffer: 1 << 28 })

const HEADING =
  /^`?[a-z][A-Za-z0-9-]*\.[^`\s:,=]+`?(?:,\s*`?[a-z][A-Za-z0-9-]*\.[^`\s:,]+`?)*(\s+\(deprecated\))?::\s*$/

/** Every documented key of one revision with its description (several headings may share one). */
function documentedKeys(rev) {
  const files = git('ls-tree', '-r', '--name-only', rev, 'Documentation/')
    .split('\n')
    .filter((f) => /\.(txt|adoc)$/.test(f) && !/RelNotes|howto|technical/.test(f))
  const keys = new Map()
  for (const file of files) {
    let heading = []
    let text = []
    let inHeadings = false
    const flush = () => {
      for (const key of heading) keys.set(key, `${keys.get(key) ?? ''} ${text.join(' ')}`)
      heading = []
      text = []
    }
    for (const line of git('show', `${rev}:${file}`).split('\n')) {
      // A column-0 `section.key::` starts an entry; `:::` and indented headings are nested lists.
      if (!/^\s/.test(line) && !/:::\s*$/.test(line) && HEADING.test(line)) {
        if (!inHeadings) flush()
        for (const part of line
          .replace(/\(deprecated\)/, '')
          .replace(/::\s*$/, '')
          .split(','))
          heading.push(part.trim().replaceAll('`', ''))
        inHeadings = true
      } else {
        inHeadings = false
        text.push(line)
      }
    }
    flush()
  }
  return keys
}

// A revision past a tag is recorded as `<tag>+`; the header names the exact commits.
const commits = revs.map((rev) => git('rev-parse', rev).trim())
const versions = revs.map((rev) => {
  const exact = git('describe', '--tags', rev).trim()
  const tag = git('describe', '--tags', '--abbrev=0', rev).trim()
  return exact === tag ? tag : `${tag}+`
})
// Keys are case-insensitive (section and variable names) and placeholders are names only
// (`<token>` became `<key-alias>`): one entry per key, spelled as the newest documentation spells it.
const identity = (key) => key.toLowerCase().replace(/<[^>]*>/g, '<>')
const documented = new Map()
revs.forEach((rev, i) => {
  for (const [key, text] of documentedKeys(rev)) {
    const entry = documented.get(identity(key)) ?? { key, text: '', versions: [] }
    entry.key = key
    entry.text += ` ${text}`
    if (!entry.versions.includes(versions[i])) entry.versions.push(versions[i])
    documented.set(identity(key), entry)
  }
})

const table = new Map()
const reviewed = new Map(Object.keys(NOT_PROGRAM).map((key) => [identity(key), false]))
for (const [lower, { key, text, versions: where }] of documented) {
  const words = text.toLowerCase().replace(/\s+/g, ' ')
  const rule = RULES.find(({ on, pattern }) => pattern.test(on === 'key' ? key : words))
  if (rule === undefined) continue
  if (reviewed.has(lower)) {
    reviewed.set(lower, true)
    continue
  }
  table.set(lower, { key, kind: rule.kind, documentedIn: where })
  if (process.env.DERIVE_DEBUG) console.error(`${key}\t${rule.kind}\t${words.slice(0, 160)}`)
}
for (const [key, [kind]] of Object.entries(ALSO_PROGRAM)) {
  table.set(identity(key), {
    key,
    kind,
    documentedIn: documented.get(identity(key))?.versions ?? versions,
  })
}
// Scoped wildcards: `credential.<url>.*` means every credential.* key may also be set per URL.
for (const { key: scoped, versions: where } of documented.values()) {
  const match = /^([A-Za-z0-9-]+)\.(<[^>]+>)\.(\*|<config>)$/.exec(scoped)
  if (match === null) continue
  for (const { key, kind } of [...table.values()]) {
    const parts = key.split('.')
    if (parts.length !== 2 || parts[0].toLowerCase() !== match[1].toLowerCase()) continue
    const expanded = `${parts[0]}.${match[2]}.${parts[1]}`
    table.set(identity(expanded), { key: expanded, kind, documentedIn: where })
  }
}

const unused = [...reviewed].filter(([, used]) => !used).map(([key]) => key)
if (unused.length > 0) console.error(`note: NOT_PROGRAM names keys no rule matches: ${unused.join(', ')}`)

const rows = [...table.values()].sort((a, b) => a.key.localeCompare(b.key, 'en'))
const quote = (text) => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
const source = `// Generated by scripts/derive-git-program-keys.mjs from git's documentation at
// ${versions.map((version, i) => `${version} (${commits[i]})`).join(' and ')}:
// every configuration key whose value git executes (command, program, helper, hook, editor, pager,
// executable path) or that pulls in more configuration (include). Do not edit by hand: change the
// script's rules or review lists and run it again against a git clone.

/** What a key's value is, in the words of the documentation that put it in the table. */
export type GitProgramKeyKind = 'command' | 'program' | 'editor' | 'helper' | 'hook' | 'include' | 'name'

/** One documented git configuration key that names something git runs. */
export interface GitProgramKey {
  /** The key as documented; \`<placeholder>\` parts (\`trailer.<key-alias>.cmd\`) match any subsection. */
  readonly key: string
  /** Which rule found it (\`name\`: the key's own name ends in cmd, command, program, …). */
  readonly kind: GitProgramKeyKind
  /** The git versions whose documentation lists it. */
  readonly documentedIn: readonly string[]
}

/** Every git configuration key documented to name a program, command, helper, hook, editor or pager. */
export const GIT_PROGRAM_KEYS: readonly GitProgramKey[] = [
${rows.map((r) => `  { key: ${quote(r.key)}, kind: '${r.kind}', documentedIn: [${r.documentedIn.map(quote).join(', ')}] },`).join('\n')}
]

/** How many documented keys the derivation read, over all versions (the table is a subset). */
export const GIT_DOCUMENTED_KEY_COUNT = ${documented.size}

/** Keys the derivation's wording matched that a reviewer found to name nothing git runs, with why. */
export const GIT_REVIEWED_NON_PROGRAM_KEYS: Readonly<Record<string, string>> = {
${Object.entries(NOT_PROGRAM)
  .sort(([a], [b]) => a.localeCompare(b, 'en'))
  .map(([key, why]) => `  ${quote(key)}: ${quote(why)},`)
  .join('\n')}
}
`

if (check) {
  const current = readFileSync(OUTPUT, 'utf8')
  if (current !== source) {
    console.error(`${path.relative(process.cwd(), OUTPUT)} is stale; run the script without --check`)
    process.exit(1)
  }
  console.log(`${rows.length} program keys of ${documented.size} documented: up to date`)
} else {
  writeFileSync(OUTPUT, source)
  console.log(`${rows.length} program keys of ${documented.size} documented keys (${versions.join(', ')})`)
}

import { checkFlags, type OptionSyntax, optionIs, type ScannedArgs, scanArgs } from '../argvScan.js'
import { checkPathOperands } from './pathOperands.js'
import type { PresetCheck, PresetContext } from './presetContext.js'

const GREP_SYNTAX: OptionSyntax = {
  shortWithValue: 'efmABCdDX',
  longFlags: ['--binary'],
  longWithValue: [
    '--regexp',
    '--file',
    '--max-count',
    '--after-context',
    '--before-context',
    '--context',
    '--label',
    '--devices',
    '--directories',
    '--binary-files',
    '--include',
    '--exclude',
    '--exclude-from',
    '--exclude-dir',
    '--group-separator',
  ],
}

const RG_SYNTAX: OptionSyntax = {
  shortWithValue: 'ABCdEefgjMmrtT',
  longWithValue: [
    '--after-context',
    '--before-context',
    '--context',
    '--color',
    '--colors',
    '--context-separator',
    '--dfa-size-limit',
    '--encoding',
    '--engine',
    '--field-context-separator',
    '--field-match-separator',
    '--file',
    '--glob',
    '--iglob',
    '--ignore-file',
    '--max-columns',
    '--max-count',
    '--max-depth',
    '--max-filesize',
    '--path-separator',
    '--pre',
    '--pre-glob',
    '--regex-size-limit',
    '--regexp',
    '--replace',
    '--sort',
    '--sortr',
    '--threads',
    '--type',
    '--type-add',
    '--type-clear',
    '--type-not',
    '--hyperlink-format',
    '--hostname-bin',
    '--generate',
  ],
}

/** Options of GNU grep refused by the preset: following every symlink while recursing. */
export const GREP_DENIED_FLAGS: readonly string[] = ['-R', '--dereference-recursive']

/**
 * Options of ripgrep refused by the preset: `--pre`/`--pre-glob` run a program per file,
 * `--search-zip` runs decompressors, `--hostname-bin` runs a program, `--follow` leaves the roots.
 */
export const RG_DENIED_FLAGS: readonly string[] = [
  '--pre',
  '--pre-glob',
  '-z',
  '--search-zip',
  '--hostname-bin',
  '-L',
  '--follow',
]

/**
 * Checks the paths of a grep-like program: operands (the first is the pattern unless an option gives
 * one) and the values of options that name files, abbreviated or not (`--fil=/etc/x` is `--file`).
 */
function checkSearch(
  scanned: ScannedArgs,
  ctx: PresetContext,
  patternOptions: readonly string[],
  pathOptions: readonly string[],
  noPatternOptions: readonly string[],
): string | undefined {
  const { options, operands } = scanned
  const fileValues = options
    .filter((o) => optionIs(o, pathOptions) && o.value !== undefined)
    .map((o) => o.value!)
  const patternGiven = options.some((o) => optionIs(o, patternOptions) || optionIs(o, noPatternOptions))
  const paths = patternGiven ? operands : operands.slice(1)
  return checkPathOperands([...fileValues, ...paths], ctx)
}

/**
 * GNU `grep`: operands, pattern files and exclude files must be inside a root and not hidden; `-R` is refused (it follows symlinks
 * out of the roots; `-r` is fine). GNU grep has no option that runs a program.
 */
export const checkGrepArgs: PresetCheck = (args, ctx) => {
  const scanned = scanArgs(args, GREP_SYNTAX)
  return (
    checkFlags(scanned.options, { denyFlags: GREP_DENIED_FLAGS }) ??
    checkSearch(scanned, ctx, ['-e', '--regexp', '-f', '--file'], ['-f', '--file', '--exclude-from'], [])
  )
}

/** ripgrep: see {@link RG_DENIED_FLAGS}; operands, pattern files and ignore files must be inside a root and not hidden. */
export const checkRgArgs: PresetCheck = (args, ctx) => {
  const scanned = scanArgs(args, RG_SYNTAX)
  return (
    checkFlags(scanned.options, { denyFlags: RG_DENIED_FLAGS }) ??
    checkSearch(
      scanned,
      ctx,
      ['-e', '--regexp', '-f', '--file'],
      ['-f', '--file', '--ignore-file'],
      ['--files', '--type-list'],
    )
  )
}

/**
 * Expression words of GNU find refused by the preset: those that run programs (`-exec`, `-ok`…),
 * delete or write files (`-delete`, `-fprint*`, `-fls`), follow symlinks out of the roots
 * (`-L`, `-follow`) or read start points from a file (`-files0-from`).
 */
export const FIND_DENIED_WORDS: readonly string[] = [
  '-exec',
  '-execdir',
  '-ok',
  '-okdir',
  '-delete',
  '-fprint',
  '-fprint0',
  '-fprintf',
  '-fls',
  '-L',
  '-follow',
  '-files0-from',
]

/** Tests of GNU find whose argument is a reference file (`-newerXY` too, unless Y is `t`: a date). */
const FIND_FILE_TESTS: readonly string[] = ['-newer', '-anewer', '-cnewer', '-samefile']

/**
 * GNU `find`: refuses {@link FIND_DENIED_WORDS} anywhere (find has no `--` end of expression); start
 * points and the reference files of `-newer`, `-anewer`, `-cnewer`, `-newerXY` and `-samefile` must be
 * inside a root and not hidden. Every occurrence of such a word is taken to have a file after it, even
 * where find would read it as another test's value: that can only refuse more.
 */
export const checkFindArgs: PresetCheck = (args, ctx) => {
  const denied = args.find((arg) => FIND_DENIED_WORDS.includes(arg))
  if (denied !== undefined) return `find ${denied} is not allowed`
  let i = 0
  // Leading options: -H -P (-L is denied above), -D debugopts, -Olevel.
  while (i < args.length && /^-(H|P|D|O\d*)$/.test(args[i]!)) i += args[i] === '-D' ? 2 : 1
  const starts: string[] = []
  while (i < args.length && !/^[-(!,]/.test(args[i]!)) starts.push(args[i++]!)
  if (i < args.length && args[i] === '--')
    return 'find -- is not supported; put start points before the expression'
  const references: string[] = []
  for (let j = i; j < args.length; j++) {
    const word = args[j]!
    if (!FIND_FILE_TESTS.includes(word) && !/^-newer[aBcm][aBcm]$/.test(word)) continue
    const reference = args[j + 1]
    if (reference === undefined) return `find ${word} needs a file`
    references.push(reference)
  }
  return checkPathOperands([...starts, ...references], ctx)
}

import { checkFlags, type OptionSyntax, optionIs, scanArgs } from '../argvScan.js'
import { checkPathOperands } from './pathOperands.js'
import type { PresetCheck } from './presetContext.js'

const LS_SYNTAX: OptionSyntax = {
  shortWithValue: 'ITw',
  longFlags: ['--hide-control-chars'],
  longWithValue: [
    '--block-size',
    '--format',
    '--hide',
    '--ignore',
    '--indicator-style',
    '--quoting-style',
    '--sort',
    '--tabsize',
    '--time',
    '--time-style',
    '--width',
  ],
}

/**
 * `ls`: every operand must be inside a root and not hidden; following symlinks (`-L`, `--dereference`) is refused
 * because a link in the workspace could list directories outside it.
 */
export const checkLsArgs: PresetCheck = (args, ctx) => {
  const { options, operands } = scanArgs(args, LS_SYNTAX)
  return checkFlags(options, { denyFlags: ['-L', '--dereference'] }) ?? checkPathOperands(operands, ctx)
}

/** `cat`: every operand inside a root and not hidden (`-` is stdin). cat has no option that runs or writes. */
export const checkCatArgs: PresetCheck = (args, ctx) => {
  const { operands } = scanArgs(args)
  return checkPathOperands(operands, ctx)
}

/** `wc`: operands inside a root and not hidden; `--files0-from` (file names read from a file) is refused. */
export const checkWcArgs: PresetCheck = (args, ctx) => {
  const { options, operands } = scanArgs(args)
  return checkFlags(options, { denyFlags: ['--files0-from'] }) ?? checkPathOperands(operands, ctx)
}

const SORT_SYNTAX: OptionSyntax = {
  shortWithValue: 'koStT',
  longWithValue: [
    '--batch-size',
    '--buffer-size',
    '--compress-program',
    '--field-separator',
    '--files0-from',
    '--key',
    '--output',
    '--parallel',
    '--random-source',
    '--sort',
    '--temporary-directory',
  ],
}

/** Options of GNU sort refused by the preset: `--compress-program` runs a program, `--files0-from` reads file names from a file. */
export const SORT_DENIED_FLAGS: readonly string[] = ['--compress-program', '--files0-from']

/**
 * GNU `sort`: {@link SORT_DENIED_FLAGS} are refused; operands, `-o`/`--output`,
 * `-T`/`--temporary-directory` and `--random-source` must be inside a root and not hidden.
 */
export const checkSortArgs: PresetCheck = (args, ctx) => {
  const { options, operands } = scanArgs(args, SORT_SYNTAX)
  const reason = checkFlags(options, { denyFlags: SORT_DENIED_FLAGS })
  if (reason !== undefined) return `sort: ${reason}`
  const paths = options
    .filter(
      (o) =>
        o.value !== undefined &&
        optionIs(o, ['-o', '--output', '-T', '--temporary-directory', '--random-source']),
    )
    .map((o) => o.value!)
  return checkPathOperands([...paths, ...operands], ctx)
}

import { checkFlags, type OptionSyntax, scanArgs } from '../argvScan.js'
import { isPathOperandInside } from '../pathGuard.js'
import type { PresetCheck, PresetContext } from './presetContext.js'

/** Refuses the first operand that resolves outside every root, with a reason. */
export function checkPathOperands(operands: readonly string[], ctx: PresetContext): string | undefined {
  const outside = operands.find((operand) => !isPathOperandInside(operand, ctx.cwd, ctx.roots))
  return outside === undefined ? undefined : `path ${JSON.stringify(outside)} is outside the allowed roots`
}

const LS_SYNTAX: OptionSyntax = {
  shortWithValue: 'ITw',
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
 * `ls`: every operand must be inside a root; following symlinks (`-L`, `--dereference`) is refused
 * because a link in the workspace could list directories outside it.
 */
export const checkLsArgs: PresetCheck = (args, ctx) => {
  const { options, operands } = scanArgs(args, LS_SYNTAX)
  return checkFlags(options, { denyFlags: ['-L', '--dereference'] }) ?? checkPathOperands(operands, ctx)
}

/** `cat`: every operand must be inside a root (`-` is stdin). cat has no option that runs or writes. */
export const checkCatArgs: PresetCheck = (args, ctx) => {
  const { operands } = scanArgs(args)
  return checkPathOperands(operands, ctx)
}

/** `wc`: operands inside a root; `--files0-from` (file names read from a file) is refused. */
export const checkWcArgs: PresetCheck = (args, ctx) => {
  const { options, operands } = scanArgs(args)
  return checkFlags(options, { denyFlags: ['--files0-from'] }) ?? checkPathOperands(operands, ctx)
}

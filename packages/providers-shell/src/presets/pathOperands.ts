import { realpathLenient, rootOf } from '../pathGuard.js'
import type { PresetContext } from './presetContext.js'

/**
 * Why the path operand `operand` (relative to the cwd) is refused, or undefined: it must resolve inside
 * a root, and not to a hidden path (`.env`, `.git/config`, `*.pem`… unless the host lists it in
 * allowHidden). Symlinks are followed, so a link to a hidden file is refused too. `-` (stdin) passes.
 */
export function pathOperandRefusal(operand: string, ctx: PresetContext): string | undefined {
  if (operand === '-') return undefined
  const real = realpathLenient(operand, ctx.cwd)
  if (real === undefined || rootOf(real, ctx.roots) === undefined)
    return `path ${JSON.stringify(operand)} is outside the allowed roots`
  if (ctx.hidden.hides(real, ctx.roots))
    return `path ${JSON.stringify(operand)} is hidden (dot files and key files are refused unless the host lists them in allowHidden)`
  return undefined
}

/** Refuses the first of `operands` that {@link pathOperandRefusal} refuses, with its reason. */
export function checkPathOperands(operands: readonly string[], ctx: PresetContext): string | undefined {
  for (const operand of operands) {
    const reason = pathOperandRefusal(operand, ctx)
    if (reason !== undefined) return reason
  }
  return undefined
}

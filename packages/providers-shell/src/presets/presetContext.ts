import type { HiddenPathPolicy } from '../hiddenPaths.js'
import type { ResolvedRoot } from '../pathGuard.js'

/** What a preset's argument check knows about the call. */
export interface PresetContext {
  /** The command's working directory (real path, inside a root). */
  cwd: string
  roots: readonly ResolvedRoot[]
  /** The rule's `subcommands`, when given. */
  subcommands?: readonly string[] | undefined
  /** Which paths are hidden: path operands naming one are refused (the sandbox also masks them). */
  hidden: HiddenPathPolicy
  /** Where the command runs: without bubblewrap the argument checks are the only layer. */
  sandbox: 'bwrap' | 'none'
}

/** A preset's argument check: returns a reason to refuse (shown to Python) or undefined. */
export type PresetCheck = (args: readonly string[], ctx: PresetContext) => string | undefined

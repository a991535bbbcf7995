/** What a scanner needs to know about a program's option syntax (getopt_long-style). */
export interface OptionSyntax {
  /** Short options that take a value, attached (`-e foo` / `-efoo`). List only ones the program really has. */
  shortWithValue?: string
  /**
   * Long options that take a required value, which may be the next argument (`--regexp foo`). An
   * abbreviation of one (`--fil x`, getopt_long's unambiguous prefix) takes the next argument too.
   */
  longWithValue?: readonly string[]
  /** Long options without a value that are prefixes of some in `longWithValue` (`--files` of `--file`). */
  longFlags?: readonly string[]
  /** Whether `--` ends the options (true for getopt programs; false for find's expression). */
  doubleDashEnds?: boolean
}

/** One option occurrence: `--name` or `-x` as the program sees it, with its value when it has one. */
export interface ScannedOption {
  flag: string
  value?: string
  /** For an abbreviated long option: the options of `longWithValue` it may stand for. */
  candidates?: string[]
}

/** Whether `option` is `name` or, abbreviated, may stand for it. */
export function optionIs(option: ScannedOption, names: readonly string[]): boolean {
  return names.includes(option.flag) || (option.candidates ?? []).some((c) => names.includes(c))
}

/** Arguments split into options and operands. */
export interface ScannedArgs {
  options: ScannedOption[]
  operands: string[]
}

/**
 * Splits arguments the way a getopt_long program would: `--name=value`, `--name value` for options
 * known to take one, short clusters `-abc` one flag per letter (so `-xO` shows `-O`), and permuted
 * operands. Unknown options are taken as flags without a value, which can only make rules stricter.
 */
export function scanArgs(args: readonly string[], syntax: OptionSyntax = {}): ScannedArgs {
  const options: ScannedOption[] = []
  const operands: string[] = []
  const shortWithValue = syntax.shortWithValue ?? ''
  const longWithValue = syntax.longWithValue ?? []
  const longFlags = syntax.longFlags ?? []
  // getopt_long takes any unambiguous prefix; one that may stand for a value option is read as one.
  const abbreviates = (flag: string) =>
    longWithValue.includes(flag) || longFlags.includes(flag)
      ? []
      : longWithValue.filter((name) => name.startsWith(flag))
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--' && syntax.doubleDashEnds !== false) {
      operands.push(...args.slice(i + 1))
      break
    }
    if (arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=')
      const flag = eq === -1 ? arg : arg.slice(0, eq)
      const candidates = abbreviates(flag)
      const option: ScannedOption = { flag }
      if (candidates.length > 0) option.candidates = candidates
      if (eq !== -1) option.value = arg.slice(eq + 1)
      else if ((longWithValue.includes(arg) || candidates.length > 0) && i + 1 < args.length)
        option.value = args[++i]!
      options.push(option)
      continue
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!
        if (shortWithValue.includes(letter)) {
          const attached = arg.slice(j + 1)
          if (attached !== '') options.push({ flag: `-${letter}`, value: attached })
          else if (i + 1 < args.length) options.push({ flag: `-${letter}`, value: args[++i]! })
          else options.push({ flag: `-${letter}` })
          break
        }
        options.push({ flag: `-${letter}` })
      }
      continue
    }
    operands.push(arg)
  }
  return { options, operands }
}

/**
 * Whether `flag` (as scanned) is refused by `denied`. A long option is refused when it names a denied
 * option or any prefix of one, since getopt_long and git accept unambiguous abbreviations
 * (`--upload-p=x`). Single-dash words (`-exec`) match exactly.
 */
export function matchesDenied(
  flag: string,
  denied: readonly string[],
  exactOptions: readonly string[] = [],
): string | undefined {
  for (const entry of denied) {
    if (flag === entry) return entry
    // A real option that happens to prefix a denied one (git's --text vs --textconv) is not an abbreviation.
    if (exactOptions.includes(flag)) continue
    if (flag.startsWith('--') && entry.startsWith('--') && flag.length > 2 && entry.startsWith(flag))
      return entry
  }
  return undefined
}

/**
 * Checks scanned options against a rule's deny list and optional allow list; returns a reason to
 * refuse, or undefined. `denyFlags` may name short options (`-O`), long ones (`--pre`) or
 * single-dash words; a single-dash word like `-exec` also refuses its cluster reading.
 */
export function checkFlags(
  options: readonly ScannedOption[],
  rule: {
    denyFlags?: readonly string[] | undefined
    allowFlags?: readonly string[] | undefined
    exactOptions?: readonly string[] | undefined
  },
): string | undefined {
  for (const option of options) {
    const denied =
      rule.denyFlags === undefined ? undefined : matchesDenied(option.flag, rule.denyFlags, rule.exactOptions)
    if (denied !== undefined) return `option ${denied} is not allowed`
    if (rule.allowFlags !== undefined && !rule.allowFlags.includes(option.flag)) {
      return `option ${option.flag} is not in this command's allowed options`
    }
  }
  return undefined
}

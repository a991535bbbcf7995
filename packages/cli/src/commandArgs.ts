import { type ParseArgsConfig, parseArgs } from 'node:util'
import { usageError } from './cliError.js'

type Options = NonNullable<ParseArgsConfig['options']>

/** The result of {@link parseCommandArgs}. */
export interface CommandArgs<O extends Options> {
  values: {
    [K in keyof O]?: O[K] extends { multiple: true }
      ? string[]
      : O[K] extends { type: 'boolean' }
        ? boolean
        : string
  }
  positionals: string[]
  /** Everything after the first positional when `stopAtPositional` is set (a script's own arguments). */
  rest: string[]
}

/**
 * `node:util` parseArgs in strict mode, with its errors turned into one-line usage errors. With
 * `stopAtPositional`, parsing stops at the first positional so `capsule run x.py --flag` passes `--flag`
 * to the script.
 */
export function parseCommandArgs<O extends Options>(
  args: readonly string[],
  options: O,
  settings: { positionals?: number; stopAtPositional?: boolean } = {},
): CommandArgs<O> {
  let own = [...args]
  let rest: string[] = []
  if (settings.stopAtPositional) {
    const index = firstPositional(args, options)
    if (index !== -1) {
      own = args.slice(0, index + 1)
      rest = args.slice(index + 1)
    }
  }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: own,
      options,
      strict: true,
      allowPositionals: (settings.positionals ?? 0) > 0,
    })
  } catch (error) {
    throw usageError(firstSentence((error as Error).message))
  }
  if (parsed.positionals.length > (settings.positionals ?? 0)) {
    throw usageError(`unexpected argument ${JSON.stringify(parsed.positionals[settings.positionals ?? 0])}`)
  }
  return { values: parsed.values as CommandArgs<O>['values'], positionals: parsed.positionals, rest }
}

function firstPositional(args: readonly string[], options: Options): number {
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index]!
    if (arg === '--') return index + 1 < args.length ? index + 1 : -1
    if (arg === '-' || !arg.startsWith('-')) return index
    if (arg.includes('=')) continue
    const takesValue = arg.startsWith('--')
      ? options[arg.slice(2)]?.type === 'string'
      : arg.length === 2 && Object.values(options).some((o) => o.short === arg[1] && o.type === 'string')
    if (takesValue) index += 1
  }
  return -1
}

// parseArgs explains at length how to pass a dash-prefixed positional; the first sentence is the error.
function firstSentence(message: string): string {
  const sentence = message.split(/\. (?=[A-Z])/)[0] ?? message
  return sentence
    .replace(/\.$/, '')
    .replace(/^Unknown option/, 'unknown option')
    .replace(/^Option/, 'option')
}

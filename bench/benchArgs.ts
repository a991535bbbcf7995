// The command line of `pnpm bench`, parsed into options without side effects so it can be tested.

/** Bad command-line input: the message says what to type instead. */
export class BenchUsageError extends Error {
  readonly code = 'BENCH_USAGE'
  constructor(message: string) {
    super(message)
    this.name = 'BenchUsageError'
  }
}

/** Which wire codecs the pipeline benchmark measures. */
export type CodecChoice = 'msgpack' | 'json' | 'both'

/** Options of one `pnpm bench` run. */
export interface BenchArgs {
  /** Where to write the figures as JSON: a path, `'-'` for stdout, or undefined for none. */
  json?: string
  /** A saved `--json` file to print ratios against. */
  compare?: string
  /** Benchmark names to run (all when empty). */
  only: string[]
  /** Print the benchmark names and stop. */
  list: boolean
  /** Directory for host .cpuprofile and worker .pstats files; undefined: no profiling. */
  profile?: string
  /** Interpreter for floors and figures alike; undefined: the harness picks one. */
  python?: string
  codec: CodecChoice
  /** Fraction of the usual iteration counts (`--quick` is 0.2). */
  scale: number
  help: boolean
}

export const USAGE = `Usage: pnpm bench [options]

  --json [FILE]      write the figures as JSON to FILE (stdout when FILE is omitted or "-";
                     the table then goes to stderr)
  --compare FILE     print each figure's ratio to the same figure in a saved --json run
  --only NAME[,NAME] run only these benchmarks (repeatable; see --list)
  --list             list the benchmarks and stop
  --profile DIR      write a host CPU profile per benchmark (DIR/host-NAME.cpuprofile, open in Chrome
                     DevTools) and worker cProfile stats (DIR/worker-*.pstats), with a summary of each
  --python PATH      interpreter for the floors and the figures (default: CAPSULE_PYTHON, else
                     /usr/bin/python3 when it has msgpack, else python3)
  --codec C          msgpack, json or both (default both; json only without msgpack)
  --quick            a fifth of the iterations: a smoke test, not a measurement
  --help             this text`

/** Parses `process.argv.slice(2)`. Throws BenchUsageError on anything it does not know. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const args: BenchArgs = { only: [], list: false, codec: 'both', scale: 1, help: false }
  const value = (at: number, flag: string): string => {
    const next = argv[at + 1]
    if (next === undefined || next.startsWith('--')) throw new BenchUsageError(`${flag} needs a value`)
    return next
  }
  for (let at = 0; at < argv.length; at += 1) {
    const arg = argv[at]!
    // pnpm forwards a literal `--` when the user types one; it separates nothing here.
    if (arg === '--') continue
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? splitOnce(arg) : [arg, undefined]
    const take = (): string => {
      if (inline !== undefined) return inline
      const next = value(at, flag)
      at += 1
      return next
    }
    switch (flag) {
      case '--json': {
        if (inline !== undefined) args.json = inline
        else {
          const next = argv[at + 1]
          if (next !== undefined && !next.startsWith('--')) {
            args.json = next
            at += 1
          } else args.json = '-'
        }
        break
      }
      case '--compare':
        args.compare = take()
        break
      case '--only':
        args.only.push(
          ...take()
            .split(',')
            .map((name) => name.trim())
            .filter((name) => name !== ''),
        )
        break
      case '--list':
        args.list = true
        break
      case '--profile':
        args.profile = take()
        break
      case '--python':
        args.python = take()
        break
      case '--codec': {
        const codec = take()
        if (codec !== 'msgpack' && codec !== 'json' && codec !== 'both')
          throw new BenchUsageError(`--codec must be msgpack, json or both (got ${JSON.stringify(codec)})`)
        args.codec = codec
        break
      }
      case '--quick':
        args.scale = 0.2
        break
      case '--help':
      case '-h':
        args.help = true
        break
      default:
        throw new BenchUsageError(`unknown argument ${JSON.stringify(arg)}; see --help`)
    }
  }
  return args
}

function splitOnce(arg: string): [string, string] {
  const at = arg.indexOf('=')
  return [arg.slice(0, at), arg.slice(at + 1)]
}

/**
 * The benchmarks `only` selects from `names`, in registry order. Throws BenchUsageError for a name
 * that matches none, so a typo does not silently run nothing.
 */
export function selectBenchmarks(names: readonly string[], only: readonly string[]): string[] {
  if (only.length === 0) return [...names]
  const unknown = only.filter((name) => !names.includes(name))
  if (unknown.length > 0)
    throw new BenchUsageError(`no benchmark named ${unknown.join(', ')}; known: ${names.join(', ')}`)
  return names.filter((name) => only.includes(name))
}

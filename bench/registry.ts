// What a benchmark is and what it is given. The list of benchmarks lives in benchmarks.ts: adding one
// is a module exporting a Benchmark and one line there.
import type { Outcome } from './figures.js'

/** A wire codec the pipeline benchmark can force. */
export type BenchCodec = 'msgpack' | 'json'

/** What every benchmark is given. */
export interface BenchContext {
  /** The interpreter for floors and figures alike. */
  python: string
  /** Whether `python` can import msgpack. */
  pythonHasMsgpack: boolean
  /** Codecs to measure the call pipeline with. */
  codecs: BenchCodec[]
  /** Iteration count scaled by `--quick` (never below `min`). */
  iterations(count: number, min?: number): number
  /** Set under `--profile`: the directory for profile files. */
  profileDir?: string
  /** Progress for the person waiting (stderr). */
  log(line: string): void
}

/** One entry of `pnpm bench`. */
export interface Benchmark {
  /** Lower-case name used by `--only`. */
  name: string
  /** One line for `--list`. */
  summary: string
  run(context: BenchContext): Promise<Outcome>
}

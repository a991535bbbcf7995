// The saved form of a bench run (`--json`) and its reader, which `--compare` uses. The schema is the
// one description of the file: the type derives from it.
import { readFile } from 'node:fs/promises'
import os from 'node:os'
import { z } from 'zod'
import { type Figure, ratioToFloor, type Skipped, verdict } from './figures.js'

/** Bumped when a saved file's meaning changes, so an old file is refused instead of misread. */
export const RESULTS_FORMAT = 'capsule-bench/1'

const TargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ratio-at-most'), limit: z.number() }),
  z.object({ kind: z.literal('ratio-at-least'), limit: z.number() }),
  z.object({ kind: z.literal('floor-plus-at-most'), limit: z.number() }),
  z.object({ kind: z.literal('at-most'), limit: z.number() }),
  z.object({ kind: z.literal('at-least'), limit: z.number() }),
])

const FigureSchema = z.object({
  id: z.string().min(1),
  label: z.string(),
  value: z.number(),
  unit: z.string(),
  better: z.enum(['lower', 'higher']),
  floor: z.object({ id: z.string(), value: z.number(), unit: z.string() }).optional(),
  target: TargetSchema.optional(),
  isFloor: z.boolean().optional(),
  // Written for a reader of the file; recomputed from the fields above when compared.
  ratio: z.number().optional(),
  verdict: z.enum(['PASS', 'MISS']).optional(),
})

/** A saved bench run. */
export const BenchResultsSchema = z.object({
  format: z.literal(RESULTS_FORMAT),
  startedAt: z.string(),
  durationMs: z.number(),
  git: z.object({ commit: z.string(), dirty: z.boolean() }).optional(),
  host: z.object({
    node: z.string(),
    platform: z.string(),
    arch: z.string(),
    cpus: z.number(),
    /** 1, 5 and 15 minute load averages when the run started and when it ended. */
    loadAverageAtStart: z.array(z.number()),
    loadAverage: z.array(z.number()),
  }),
  python: z.object({ executable: z.string(), version: z.string().optional() }),
  /** Which code of the packages ran: their build, or their sources through tsx (absent in older runs). */
  packages: z.enum(['dist', 'source']).optional(),
  benchmarks: z.array(z.string()),
  /** True when the run was profiled or `--quick`: its figures are not comparable measurements. */
  distorted: z.boolean(),
  figures: z.array(FigureSchema),
  skipped: z.array(
    z.object({ id: z.string(), label: z.string(), reason: z.string(), failed: z.boolean().optional() }),
  ),
})

export type BenchResults = z.infer<typeof BenchResultsSchema>

/** A saved file that is not a bench run this harness can read. */
export class BenchResultsError extends Error {
  readonly code = 'BENCH_RESULTS_INVALID'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'BenchResultsError'
  }
}

/** Parses a saved run, with one line per problem when it is not one. */
export function parseBenchResults(text: string, source: string): BenchResults {
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (cause) {
    throw new BenchResultsError(`${source} is not JSON`, { cause })
  }
  const parsed = BenchResultsSchema.safeParse(data)
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`,
    )
    throw new BenchResultsError(`${source} is not a ${RESULTS_FORMAT} file:\n${problems.join('\n')}`)
  }
  return parsed.data
}

/** Reads and parses a saved run. */
export async function readBenchResults(path: string): Promise<BenchResults> {
  return parseBenchResults(await readFile(path, 'utf8'), path)
}

/** A figure as written to the file: its ratio and verdict spelled out for a human reader. */
export function serializeFigure(figure: Figure): z.infer<typeof FigureSchema> {
  const ratio = ratioToFloor(figure)
  const result = verdict(figure)
  return {
    ...figure,
    ...(ratio === undefined ? {} : { ratio }),
    ...(result === undefined ? {} : { verdict: result }),
  }
}

/** What a run knows about itself besides its figures. */
export interface RunFacts {
  startedAt: Date
  durationMs: number
  loadAverageAtStart: number[]
  git?: { commit: string; dirty: boolean }
  python: { executable: string; version?: string }
  packages?: 'dist' | 'source'
  benchmarks: string[]
  distorted: boolean
}

const round2 = (value: number) => Math.round(value * 100) / 100

/** The saved form of a run. */
export function buildResults(
  facts: RunFacts,
  figures: readonly Figure[],
  skipped: readonly Skipped[],
): BenchResults {
  return {
    format: RESULTS_FORMAT,
    startedAt: facts.startedAt.toISOString(),
    durationMs: Math.round(facts.durationMs),
    ...(facts.git ? { git: facts.git } : {}),
    host: {
      node: process.version,
      platform: process.platform,
      arch: process.arch,
      cpus: os.cpus().length,
      loadAverageAtStart: facts.loadAverageAtStart.map(round2),
      loadAverage: os.loadavg().map(round2),
    },
    python: facts.python,
    ...(facts.packages ? { packages: facts.packages } : {}),
    benchmarks: facts.benchmarks,
    distorted: facts.distorted,
    figures: figures.map(serializeFigure),
    skipped: [...skipped],
  }
}

export type { Figure, Skipped }

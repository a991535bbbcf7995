// Every benchmark `pnpm bench` knows, in the order they run (the issue targets first). Add one here.
import { checkpointBench } from './checkpointBench.js'
import { durabilityBench } from './durabilityBench.js'
import { fetchBench } from './fetchBench.js'
import { pipelineBench } from './pipelineBench.js'
import { poolBench } from './poolBench.js'
import type { Benchmark } from './registry.js'
import { scienceBench } from './scienceBench.js'
import { startupBench } from './startupBench.js'
import { stdoutBench } from './stdoutBench.js'

/** The registry: names are what `--only` takes. */
export const BENCHMARKS: readonly Benchmark[] = [
  pipelineBench,
  stdoutBench,
  fetchBench,
  startupBench,
  poolBench,
  scienceBench,
  durabilityBench,
  checkpointBench,
]

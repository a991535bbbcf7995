import type { ResolvedFsOptions } from './fsProviderOptions.js'
import type { FsRaceHooks } from './secureOpen.js'

/** What every fs capability handler shares: the resolved options and, in tests only, the race hooks. */
export interface FsRuntime {
  readonly options: ResolvedFsOptions
  readonly hooks?: FsRaceHooks | undefined
}

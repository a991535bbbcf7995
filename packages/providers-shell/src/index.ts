// Public API of @capsule/providers-shell. Anything exported here is public: add intentionally.
export { DANGEROUS_COMMANDS } from './dangerousCommands.js'
export { FORBIDDEN_ENV_NAMES, FORBIDDEN_ENV_PREFIXES } from './envPolicy.js'
export type { GitProgramKey, GitProgramKeyKind } from './gitProgramKeys.js'
export { GIT_PROGRAM_KEYS } from './gitProgramKeys.js'
export { SORT_DENIED_FLAGS } from './presets/fileToolPresets.js'
export { GIT_HARDENING_CONFIG } from './presets/gitConfigPolicy.js'
export {
  GIT_DENIED_FLAGS,
  GIT_GLOBAL_OPTIONS,
  GIT_READ_ONLY_SUBCOMMANDS,
  GIT_WRITE_SUBCOMMANDS,
} from './presets/gitPreset.js'
export { FIND_DENIED_WORDS, GREP_DENIED_FLAGS, RG_DENIED_FLAGS } from './presets/searchToolPresets.js'
export { TAR_DENIED_FLAGS } from './presets/tarPreset.js'
export { shellProvider, shellSandboxInForce } from './shellProvider.js'
export type { CommandRule, ShellPreset, ShellProviderOptions, ShellRoot } from './shellProviderOptions.js'
export {
  DEFAULT_MAX_ARG_BYTES,
  DEFAULT_MAX_CONCURRENT_PER_SESSION,
  DEFAULT_MAX_HIDDEN_SCAN_ENTRIES,
  DEFAULT_MAX_OUTPUT_BYTES,
  DEFAULT_MAX_STDIN_BYTES,
  DEFAULT_SEARCH_PATH,
  DEFAULT_TIMEOUT_MS,
  SHELL_PRESETS,
  shellProviderOptionsSchema,
} from './shellProviderOptions.js'
export { shellRunInput, shellRunOutput } from './shellRunSchemas.js'
export type { ShellSandbox } from './shellSandboxChoice.js'

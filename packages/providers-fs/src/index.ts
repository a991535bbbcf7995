// Public API of @capsule/providers-fs. Anything exported here is public: add intentionally.
export { FS_PROVIDER_VERSION, fsProvider } from './fsProvider.js'
export type { FsProviderOptions, FsRootOptions } from './fsProviderOptions.js'
export {
  DEFAULT_MAX_LIST_ENTRIES,
  DEFAULT_MAX_READ_BYTES,
  DEFAULT_MAX_WRITE_BYTES,
} from './fsProviderOptions.js'
export { DEFAULT_HIDDEN_PATTERNS } from './pathPolicy.js'

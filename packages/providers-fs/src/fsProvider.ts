import { defineProvider, type ProviderDefinition } from '@capsule/provider-sdk'
import { deletePathCapability } from './capabilities/deletePath.js'
import { fileInfoCapability } from './capabilities/fileInfo.js'
import { listDirCapability } from './capabilities/listDir.js'
import { makeDirCapability } from './capabilities/makeDir.js'
import { readFileCapability } from './capabilities/readFile.js'
import { writeFileCapability } from './capabilities/writeFile.js'
import { type FsProviderOptions, fsProviderOptionsSchema, resolveFsOptions } from './fsProviderOptions.js'
import type { FsRuntime } from './fsRuntime.js'

/** The version of the `fs` provider; kept equal to this package's version (a test checks). */
export const FS_PROVIDER_VERSION = '0.1.0'

/**
 * The `fs` provider: read_file, write_file, list_dir, file_info, delete_path and make_dir under the
 * roots the host chooses. Options are validated eagerly and roots resolved to their real paths now;
 * bad options throw ProviderDefinitionError. See the package README for the rules it enforces.
 */
export function fsProvider(options: FsProviderOptions): ProviderDefinition {
  return createFsProvider({ options: resolveFsOptions(options) })
}

/** Builds the provider from resolved options; tests pass race hooks through `runtime`. */
export function createFsProvider(runtime: FsRuntime): ProviderDefinition {
  return defineProvider({
    name: 'fs',
    version: FS_PROVIDER_VERSION,
    description: 'Files under host-chosen roots: glob rules, no symlink escapes, size caps, atomic writes.',
    configSchema: fsProviderOptionsSchema,
    capabilities: [
      readFileCapability(runtime),
      writeFileCapability(runtime),
      listDirCapability(runtime),
      fileInfoCapability(runtime),
      deletePathCapability(runtime),
      makeDirCapability(runtime),
    ],
  })
}

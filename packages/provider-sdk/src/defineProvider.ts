import type { z } from 'zod'
import { type AnyCapabilityDefinition, CAPABILITY_NAME_PATTERN } from './defineCapability.js'
import { ProviderDefinitionError } from './providerDefinitionError.js'

/** A provider: a named, versioned group of capabilities. */
export interface ProviderDefinition {
  /** Prefix of every capability id (`fs` → `fs.read_file`). Lowercase identifier. */
  name: string
  /** Semantic version of the provider package. */
  version: string
  description?: string
  capabilities: readonly AnyCapabilityDefinition[]
  /** Schema of the options the provider was built from, for hosts that load providers from config. */
  configSchema?: z.ZodType
  /** Releases resources (agents, pools) when the Capsule closes. */
  dispose?(): Promise<void> | void
}

/** Semantic version, with optional pre-release and build metadata. */
export const SEMVER_PATTERN =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$/

/**
 * Declares a provider. Checks the name, the version and that capability names are unique, and
 * returns the definition unchanged.
 */
export function defineProvider<P extends ProviderDefinition>(definition: P): P {
  if (typeof definition !== 'object' || definition === null) {
    throw new ProviderDefinitionError('defineProvider expects an object')
  }
  const where = `provider ${JSON.stringify(definition.name)}`
  if (typeof definition.name !== 'string' || !CAPABILITY_NAME_PATTERN.test(definition.name)) {
    throw new ProviderDefinitionError(
      `${where}: name must match ${CAPABILITY_NAME_PATTERN} (got ${JSON.stringify(definition.name)})`,
    )
  }
  if (typeof definition.version !== 'string' || !SEMVER_PATTERN.test(definition.version)) {
    throw new ProviderDefinitionError(
      `${where}: version must be a semantic version like 1.0.0 (got ${JSON.stringify(definition.version)})`,
    )
  }
  if (!Array.isArray(definition.capabilities)) {
    throw new ProviderDefinitionError(`${where}: capabilities must be an array`)
  }
  const seen = new Set<string>()
  for (const capability of definition.capabilities) {
    if (seen.has(capability.name)) {
      throw new ProviderDefinitionError(
        `${where}: capability name ${JSON.stringify(capability.name)} is used twice`,
      )
    }
    seen.add(capability.name)
  }
  return definition
}

import type { AnyCapabilityDefinition, ProviderDefinition, SecurityLevel } from '@capsule/provider-sdk'
import { CAPABILITY_NAME_PATTERN, isSecurityLevel, SEMVER_PATTERN } from '@capsule/provider-sdk'
import { CapsuleError } from '../errors.js'
import type { CapabilitySpec } from '../protocol/messages.js'
import { INPUT_CAPABILITY_ID } from './inputProvider.js'
import { isPythonIdentifier, toCapabilitySpec } from './pythonSignature.js'

/** Python names the worker defines itself; a capability may not take them. */
const RESERVED_PYTHON_NAMES = new Set([
  'display',
  'capsule',
  'print',
  'exec',
  'eval',
  'open',
  '__import__',
  'getpass',
])

/** A capability as the registry holds it: definition, ids and its Python stub spec. */
export interface RegisteredCapability {
  /** `provider.name`, e.g. `fs.read_file`. */
  readonly id: string
  readonly provider: ProviderDefinition
  readonly definition: AnyCapabilityDefinition
  /** The Python global it is injected as. */
  readonly pythonName: string
  readonly level: SecurityLevel
  readonly spec: CapabilitySpec
  /** The definition's `secretArgs`, as a set: redaction looks them up on every call. */
  readonly secretArgs: ReadonlySet<string>
}

/** What a host sees of a capability: for listings, `session.info()` and the CLI. */
export interface CapabilityDescriptor {
  id: string
  python: string
  level: SecurityLevel
  description: string
  provider: { name: string; version: string }
  signature: string
}

/**
 * Every capability the Capsule knows, keyed by id. Built once from the providers; rejects duplicate
 * ids, duplicate Python names, bad names and schemas that cannot become a Python signature.
 */
export class CapabilityRegistry {
  readonly #byId = new Map<string, RegisteredCapability>()

  constructor(providers: readonly ProviderDefinition[]) {
    const providerNames = new Set<string>()
    const pythonNames = new Map<string, string>()
    for (const provider of providers) {
      validateProvider(provider)
      if (providerNames.has(provider.name)) {
        throw new CapsuleError('INVALID_PROVIDER', `two providers are named ${JSON.stringify(provider.name)}`)
      }
      providerNames.add(provider.name)
      for (const definition of provider.capabilities) {
        const id = `${provider.name}.${definition.name}`
        const pythonName = definition.python ?? definition.name
        if (this.#byId.has(id))
          throw new CapsuleError('INVALID_PROVIDER', `capability id ${id} is registered twice`)
        if (!isPythonIdentifier(pythonName) || pythonName.startsWith('__')) {
          throw new CapsuleError(
            'INVALID_PROVIDER',
            `${id}: ${JSON.stringify(pythonName)} is not a usable Python name`,
          )
        }
        // The built-in input provider is the one that may take the name `input`.
        if (RESERVED_PYTHON_NAMES.has(pythonName) && id !== INPUT_CAPABILITY_ID) {
          throw new CapsuleError(
            'INVALID_PROVIDER',
            `${id}: the Python name ${JSON.stringify(pythonName)} is reserved`,
          )
        }
        const clash = pythonNames.get(pythonName)
        if (clash) {
          throw new CapsuleError(
            'INVALID_PROVIDER',
            `${id}: the Python name ${JSON.stringify(pythonName)} is already used by ${clash}; set \`python\` to rename one`,
          )
        }
        pythonNames.set(pythonName, id)
        this.#byId.set(id, {
          id,
          provider,
          definition,
          pythonName,
          level: definition.level,
          spec: toCapabilitySpec(id, pythonName, definition),
          secretArgs: new Set(definition.secretArgs ?? []),
        })
      }
    }
  }

  /** The capability with this id, if registered. */
  get(id: string): RegisteredCapability | undefined {
    return this.#byId.get(id)
  }

  /** Every registered capability, in registration order. */
  list(): RegisteredCapability[] {
    return [...this.#byId.values()]
  }

  /** Every distinct provider, in registration order. */
  providers(): ProviderDefinition[] {
    return [...new Set(this.list().map((capability) => capability.provider))]
  }

  /** A host-facing description of a capability. */
  static describe(capability: RegisteredCapability): CapabilityDescriptor {
    const params = capability.spec.params.map((p) => (p.required ? p.name : `${p.name}=…`))
    return {
      id: capability.id,
      python: capability.pythonName,
      level: capability.level,
      description: capability.definition.description,
      provider: { name: capability.provider.name, version: capability.provider.version },
      signature: `${capability.pythonName}(${params.join(', ')}) -> ${capability.spec.returns}`,
    }
  }
}

function validateProvider(provider: ProviderDefinition): void {
  if (typeof provider !== 'object' || provider === null) {
    throw new CapsuleError('INVALID_PROVIDER', 'a provider must be an object made with defineProvider()')
  }
  const where = `provider ${JSON.stringify(provider.name)}`
  if (typeof provider.name !== 'string' || !CAPABILITY_NAME_PATTERN.test(provider.name)) {
    throw new CapsuleError('INVALID_PROVIDER', `${where}: name must match ${CAPABILITY_NAME_PATTERN}`)
  }
  if (typeof provider.version !== 'string' || !SEMVER_PATTERN.test(provider.version)) {
    throw new CapsuleError(
      'INVALID_PROVIDER',
      `${where}: version must be a semantic version (got ${JSON.stringify(provider.version)})`,
    )
  }
  if (!Array.isArray(provider.capabilities)) {
    throw new CapsuleError('INVALID_PROVIDER', `${where}: capabilities must be an array`)
  }
  for (const definition of provider.capabilities) {
    if (typeof definition?.name !== 'string' || !CAPABILITY_NAME_PATTERN.test(definition.name)) {
      throw new CapsuleError(
        'INVALID_PROVIDER',
        `${where}: capability name ${JSON.stringify(definition?.name)} must match ${CAPABILITY_NAME_PATTERN}`,
      )
    }
    if (typeof definition.handler !== 'function') {
      throw new CapsuleError('INVALID_PROVIDER', `${where}.${definition.name}: handler must be a function`)
    }
    for (const key of ['input', 'output'] as const) {
      // zod 3 schemas carry `_def` and no `_zod`: say so, instead of failing to read them as zod 4.
      const schema: unknown = definition[key]
      if (typeof schema === 'object' && schema !== null && '_def' in schema && !('_zod' in schema)) {
        throw new CapsuleError(
          'INVALID_PROVIDER',
          `${where}.${definition.name}: zod 4 is required (this ${key} schema is from zod 3)`,
        )
      }
    }
    // An unknown level would compare below every real one and be granted everywhere.
    if (!isSecurityLevel(definition.level)) {
      throw new CapsuleError(
        'INVALID_PROVIDER',
        `${where}.${definition.name}: level must be one of sandbox, restricted, standard, trusted, unrestricted (got ${JSON.stringify(definition.level)})`,
      )
    }
  }
}

import { CapabilityRegistry } from '@capsule/core'
import type { AnyCapabilityDefinition, ProviderDefinition } from '@capsule/provider-sdk'
import { callHandler, resolveArgs } from './capabilityCaller.js'
import { deriveInvalidArgs } from './deriveInvalidArgs.js'
import type {
  CallArgs,
  CapabilityFixture,
  ProviderContractOptions,
  ProviderFixtures,
  ProviderSource,
} from './providerFixtures.js'
import { PythonHarness } from './pythonHarness.js'
import { ResourceWatch, type WatchedCall } from './resourceWatch.js'

/** The small `callTimeoutMs` of the CapabilityTimeout check when the options give none. */
const DEFAULT_CONTRACT_CALL_TIMEOUT_MS = 300

/**
 * One run of the contract for one provider: the fixtures, the provider once built, the Python harness,
 * the resource watch that follows every handler invocation, and what the requirement families share.
 * The families register their tests against it at collection time and use it when the tests run.
 */
export class ContractContext {
  readonly fixtures: ProviderFixtures
  readonly options: ProviderContractOptions
  /** Follows every handler invocation: direct calls and those of the harness's Capsules. */
  readonly watch = new ResourceWatch()
  /**
   * Problems `contract.coverage` reports: requirements skipped without the declaration they need
   * (a cancellation requirement without `noSlowCall`, a capability with `secretArgs` and no `secret`).
   */
  readonly coverageProblems: Array<() => string[]> = []
  readonly #source: ProviderSource
  #provider: ProviderDefinition | undefined
  #harness: PythonHarness | undefined
  #registry: { value: CapabilityRegistry } | { error: unknown } | undefined
  #disposed = false

  constructor(source: ProviderSource, fixtures: ProviderFixtures, options: ProviderContractOptions) {
    this.#source = source
    this.fixtures = fixtures
    this.options = options
  }

  /** Runs the fixtures' setup, builds the provider and starts watching. */
  async open(): Promise<void> {
    await this.fixtures.setup?.()
    this.#provider = typeof this.#source === 'function' ? await this.#source() : this.#source
    this.#harness = new PythonHarness({
      provider: this.#provider,
      python: this.fixtures.python,
      sandbox: this.fixtures.sandbox,
      callTimeoutMs: this.options.callTimeoutMs ?? DEFAULT_CONTRACT_CALL_TIMEOUT_MS,
      watch: this.watch,
    })
    this.watch.enable()
  }

  /** Closes the harness, disposes the provider (unless a requirement did) and runs the teardown. */
  async close(): Promise<void> {
    try {
      await this.#harness?.close()
      await this.dispose()
    } finally {
      this.watch.disable()
      await this.fixtures.teardown?.()
    }
  }

  /** Calls the provider's `dispose()` once; later calls do nothing. */
  async dispose(): Promise<void> {
    if (this.#disposed || !this.#provider) return
    this.#disposed = true
    await this.#provider.dispose?.()
  }

  /** The provider under test; throws when setup failed. */
  get provider(): ProviderDefinition {
    if (!this.#provider) throw new Error('the provider was not built (did setup fail?)')
    return this.#provider
  }

  /** The real Capsules and sessions of the end-to-end requirements. */
  get harness(): PythonHarness {
    if (!this.#harness) throw new Error('the provider was not built (did setup fail?)')
    return this.#harness
  }

  /** The core's registry over the provider, built once; throws with the core's reason when it refuses it. */
  get registry(): CapabilityRegistry {
    if (!this.#registry) {
      try {
        this.#registry = { value: new CapabilityRegistry([this.provider]) }
      } catch (error) {
        this.#registry = { error }
      }
    }
    if ('error' in this.#registry) {
      throw new Error(
        `the core CapabilityRegistry refuses the provider: ${(this.#registry.error as Error).message}`,
      )
    }
    return this.#registry.value
  }

  /** The capability named `name` inside the provider; throws when there is none. */
  capability(name: string): AnyCapabilityDefinition {
    const found = this.provider.capabilities.find((definition) => definition.name === name)
    if (!found) throw new Error(`the provider has no capability named ${JSON.stringify(name)}`)
    return found
  }

  /** The full capability id, `provider.name`. */
  idOf(name: string): string {
    return `${this.provider.name}.${name}`
  }

  /** The capability's Python global. */
  pythonName(name: string): string {
    const definition = this.capability(name)
    return definition.python ?? definition.name
  }

  /** The fixture's invalid arguments, or ones derived from its valid call; throws when none can be derived. */
  async invalidArgs(name: string, fixture: CapabilityFixture): Promise<CallArgs> {
    if (fixture.invalid) return resolveArgs(fixture.invalid)
    const derived = deriveInvalidArgs(this.capability(name).input, await resolveArgs(fixture.valid))
    if (derived === undefined) {
      throw new Error(
        `${name}: no schema-invalid arguments can be derived (no string, number or boolean parameter); give fixtures.capabilities.${name}.invalid, or null when none exist`,
      )
    }
    return derived
  }

  /** Calls the handler of `name` directly (see `callHandler`), under the resource watch. */
  call(name: string, args: CallArgs, signal?: AbortSignal): Promise<unknown> {
    return this.watchedCall(name, args, signal).result
  }

  /** Like {@link call}, also returning what the watch knows of the invocation. */
  watchedCall(
    name: string,
    args: CallArgs,
    signal?: AbortSignal,
  ): { call: WatchedCall; result: Promise<unknown> } {
    const definition = this.capability(name)
    return this.watch.track(name, () => callHandler(this.provider.name, definition, args, signal))
  }

  /** Each capability's name and fixture, in the fixtures' order. */
  get capabilities(): Array<[string, CapabilityFixture]> {
    return Object.entries(this.fixtures.capabilities)
  }
}

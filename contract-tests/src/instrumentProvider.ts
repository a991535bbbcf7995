import type { AnyCapabilityDefinition, ProviderDefinition } from '@capsule/provider-sdk'

/** What the instrumented handlers saw: calls started per capability, and the values they returned. */
export interface HandlerLog {
  /** Capability name → handler invocations so far. */
  readonly calls: Map<string, number>
  /** Capability name → values returned by successful invocations, in order of completion. */
  readonly results: Map<string, unknown[]>
}

/** A provider whose handlers report to a {@link HandlerLog}, and that log. */
export interface InstrumentedProvider {
  readonly provider: ProviderDefinition
  readonly log: HandlerLog
  /** Handler invocations of one capability so far. */
  callCount(name: string): number
}

/**
 * A copy of `provider` whose handlers count their invocations and record their results before doing
 * exactly what the originals do. The copy has no `dispose`: the caller disposes the original once. The contract registers the copy in a real Capsule, so it can tell
 * whether the core let a call reach the handler. `override` may change other fields of each copy.
 */
export function instrumentProvider(
  provider: ProviderDefinition,
  override: (definition: AnyCapabilityDefinition) => Partial<AnyCapabilityDefinition> = () => ({}),
): InstrumentedProvider {
  const log: HandlerLog = { calls: new Map(), results: new Map() }
  const capabilities = provider.capabilities.map((definition): AnyCapabilityDefinition => {
    const { name } = definition
    return {
      ...definition,
      ...override(definition),
      handler: async (args, context) => {
        log.calls.set(name, (log.calls.get(name) ?? 0) + 1)
        const value = await definition.handler.call(definition, args, context)
        const results = log.results.get(name) ?? []
        results.push(value)
        log.results.set(name, results)
        return value
      },
    }
  })
  // The copy never disposes: several Capsules share the original provider, which is disposed once.
  const { dispose: _dispose, ...rest } = provider
  return {
    provider: { ...rest, capabilities },
    log,
    callCount: (name) => log.calls.get(name) ?? 0,
  }
}

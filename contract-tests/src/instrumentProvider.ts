import type {
  AnyCapabilityDefinition,
  CapabilityContext,
  CapabilityProgress,
  ProviderDefinition,
} from '@capsule/provider-sdk'
import type { ResourceWatch } from './resourceWatch.js'

/** One `ctx.progress()` report of a handler, and whether the handler had already settled when it came. */
export interface ProgressReport {
  /** A copy of the update as the handler passed it (unchecked: the contract judges its shape). */
  readonly update: CapabilityProgress
  readonly afterSettle: boolean
}

/** What the instrumented handlers saw: calls started per capability, their results and progress. */
export interface HandlerLog {
  /** Capability name → handler invocations so far. */
  readonly calls: Map<string, number>
  /** Capability name → values returned by successful invocations, in order of completion. */
  readonly results: Map<string, unknown[]>
  /** The core's call id (`ctx.callId`) → the progress the handler reported for that call, in order. */
  readonly progress: Map<string, ProgressReport[]>
}

/** A provider whose handlers report to a {@link HandlerLog}, and that log. */
export interface InstrumentedProvider {
  readonly provider: ProviderDefinition
  readonly log: HandlerLog
  /** Handler invocations of one capability so far. */
  callCount(name: string): number
}

/** How to instrument a provider. */
export interface InstrumentOptions {
  /** Changes other fields of each copied capability (e.g. drops its `timeoutMs`). */
  override?: (definition: AnyCapabilityDefinition) => Partial<AnyCapabilityDefinition>
  /** Follows the resources each handler invocation creates. */
  watch?: ResourceWatch
}

/**
 * A copy of `provider` whose handlers count their invocations, record their results and progress
 * reports, and run under `watch`, while doing exactly what the originals do. The copy has no `dispose`:
 * several Capsules share the original, which the caller disposes once. The contract registers the copy
 * in a real Capsule, so it can tell whether the core let a call reach the handler.
 */
export function instrumentProvider(
  provider: ProviderDefinition,
  { override = () => ({}), watch }: InstrumentOptions = {},
): InstrumentedProvider {
  const log: HandlerLog = { calls: new Map(), results: new Map(), progress: new Map() }
  const capabilities = provider.capabilities.map((definition): AnyCapabilityDefinition => {
    const { name } = definition
    return {
      ...definition,
      ...override(definition),
      handler: async (args, context) => {
        log.calls.set(name, (log.calls.get(name) ?? 0) + 1)
        const reports: ProgressReport[] = []
        log.progress.set(context.callId, reports)
        let settled = false
        const recording = recordProgress(context, (update) => reports.push({ update, afterSettle: settled }))
        const invoke = () => definition.handler.call(definition, args, recording)
        try {
          const value = await (watch ? watch.track(name, invoke).result : invoke())
          const results = log.results.get(name) ?? []
          results.push(value)
          log.results.set(name, results)
          return value
        } finally {
          settled = true
        }
      },
    }
  })
  const { dispose: _dispose, ...rest } = provider
  return {
    provider: { ...rest, capabilities },
    log,
    callCount: (name) => log.calls.get(name) ?? 0,
  }
}

// The context itself behind a proxy, so whatever the core puts on it (now or later) reaches the handler;
// only `progress` is wrapped.
function recordProgress(
  context: CapabilityContext,
  record: (update: CapabilityProgress) => void,
): CapabilityContext {
  const progress = (update: CapabilityProgress) => {
    record(typeof update === 'object' && update !== null ? { ...update } : update)
    context.progress(update)
  }
  return new Proxy(context, {
    get: (target, key) => (key === 'progress' ? progress : Reflect.get(target, key, target)),
  })
}

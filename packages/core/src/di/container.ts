// The one composition file: every core service of a Capsule is wired here, in a child container of its
// own (never the global one), with factories so no decorator metadata is needed.
import 'reflect-metadata'
import type { CapabilityLogger, ProviderDefinition } from '@capsule/provider-sdk'
import { type DependencyContainer, instanceCachingFactory, container as rootContainer } from 'tsyringe'
import { AuditLog, type AuditSink } from '../audit/auditLog.js'
import { CallDirectory } from '../calls/callDirectory.js'
import { CallPipeline } from '../calls/callPipeline.js'
import type { CallRecorder } from '../calls/callRecorder.js'
import { CapabilityRegistry } from '../capabilities/capabilityRegistry.js'
import { MemoryPromiseStore, type PromiseStore } from '../promises/promiseStore.js'
import { type GrantOptions, SecurityPolicy } from '../security/securityPolicy.js'
import { type Clock, systemClock } from '../util/clock.js'
import { TOKENS } from './tokens.js'

/** What the composition needs from the Capsule's options. */
export interface CompositionOptions {
  providers: ProviderDefinition[]
  grants: GrantOptions
  callTimeoutMs: number
  clock?: Clock
  logger?: CapabilityLogger
  promiseStore?: PromiseStore
  auditSinks: AuditSink[]
  /** The call pipeline's `record` step (durable sessions' journal). */
  recorder?: CallRecorder
}

/** A logger that drops everything: the default, so a library never writes to the console on its own. */
export const silentLogger: CapabilityLogger = { debug() {}, info() {}, warn() {}, error() {} }

/** Builds the container of one Capsule. Overrides given in `options` replace the defaults. */
export function createCapsuleContainer(options: CompositionOptions): DependencyContainer {
  const container = rootContainer.createChildContainer()
  container.register(TOKENS.clock, { useValue: options.clock ?? systemClock })
  container.register(TOKENS.logger, { useValue: options.logger ?? silentLogger })
  container.register(TOKENS.auditSinks, { useValue: options.auditSinks })
  container.register(TOKENS.promiseStore, {
    useFactory: instanceCachingFactory(
      (c) => options.promiseStore ?? new MemoryPromiseStore(c.resolve(TOKENS.clock)),
    ),
  })
  container.register(TOKENS.auditLog, {
    useFactory: instanceCachingFactory((c) => new AuditLog(c.resolve(TOKENS.auditSinks))),
  })
  container.register(TOKENS.registry, {
    useFactory: instanceCachingFactory(() => new CapabilityRegistry(options.providers)),
  })
  container.register(TOKENS.policy, {
    useFactory: instanceCachingFactory((c) =>
      SecurityPolicy.create(c.resolve(TOKENS.registry), options.grants),
    ),
  })
  container.register(TOKENS.callPipeline, {
    useFactory: instanceCachingFactory(
      (c) =>
        new CallPipeline({
          audit: c.resolve(TOKENS.auditLog),
          clock: c.resolve(TOKENS.clock),
          logger: c.resolve(TOKENS.logger),
          callTimeoutMs: options.callTimeoutMs,
          recorder: options.recorder,
        }),
    ),
  })
  container.register(TOKENS.callDirectory, {
    useFactory: instanceCachingFactory(() => new CallDirectory()),
  })
  return container
}

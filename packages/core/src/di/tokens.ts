import type { CapabilityLogger } from '@capsule/provider-sdk'
import type { InjectionToken } from 'tsyringe'
import type { AuditLog, AuditSink } from '../audit/auditLog.js'
import type { CallDirectory } from '../calls/callDirectory.js'
import type { CallPipeline } from '../calls/callPipeline.js'
import type { CapabilityRegistry } from '../capabilities/capabilityRegistry.js'
import type { PromiseStore } from '../promises/promiseStore.js'
import type { SecurityPolicy } from '../security/securityPolicy.js'
import type { Clock } from '../util/clock.js'

/** Injection tokens of one Capsule's container. Swap CLOCK, PROMISE_STORE or AUDIT_SINKS to customise. */
export const TOKENS = {
  clock: Symbol('Clock') as InjectionToken<Clock>,
  logger: Symbol('Logger') as InjectionToken<CapabilityLogger>,
  promiseStore: Symbol('PromiseStore') as InjectionToken<PromiseStore>,
  auditSinks: Symbol('AuditSinks') as InjectionToken<AuditSink[]>,
  auditLog: Symbol('AuditLog') as InjectionToken<AuditLog>,
  registry: Symbol('CapabilityRegistry') as InjectionToken<CapabilityRegistry>,
  policy: Symbol('SecurityPolicy') as InjectionToken<SecurityPolicy>,
  callPipeline: Symbol('CallPipeline') as InjectionToken<CallPipeline>,
  callDirectory: Symbol('CallDirectory') as InjectionToken<CallDirectory>,
} as const

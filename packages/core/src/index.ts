// Public API of @capsule/core. Anything exported here is public: add intentionally.

export type { SecurityLevel } from '@capsule/provider-sdk'
export { compareLevels, SECURITY_LEVELS } from '@capsule/provider-sdk'
export type { AuditEntry, AuditSink } from './audit/auditLog.js'
export { redactForAudit, SENSITIVE_KEYS } from './audit/auditLog.js'
export type { CapabilityDescriptor, RegisteredCapability } from './capabilities/capabilityRegistry.js'
export { CapabilityRegistry } from './capabilities/capabilityRegistry.js'
export { INPUT_CAPABILITY_ID } from './capabilities/inputProvider.js'
export type { CapsuleInfo, PromiseControl } from './capsule.js'
export { Capsule } from './capsule.js'
export type { CheckpointHeader, CheckpointRefusal } from './checkpoint/checkpointSeal.js'
export { CHECKPOINT_FORMAT, DEFAULT_MAX_CHECKPOINT_BYTES } from './checkpoint/checkpointSeal.js'
export type {
  CapsuleConfig,
  CapsuleConfigFile,
  LoadCapsuleConfigOptions,
  ProviderFactory,
  ProviderFactoryContext,
  ProviderModuleEntry,
} from './config/capsuleConfig.js'
export {
  CAPSULE_CONFIG_FILES,
  capsuleConfigSchema,
  findCapsuleConfig,
  loadCapsuleConfig,
  readCapsuleConfigFile,
} from './config/capsuleConfig.js'
export type { CapsuleOptions, SandboxMode, SessionOptions } from './config/capsuleOptionsSchema.js'
export type {
  DurableExecutionFacts,
  DurableExecutionResult,
  DurableRunOptions,
} from './durable/durableRunner.js'
export { DEFAULT_LEASE_TTL_MS } from './durable/durableSessions.js'
export type { ReplayDivergence, UnconsumedCall } from './durable/executionLedger.js'
export type { JournalPromiseControl } from './durable/journalPromises.js'
export type { RecoveredSession, RecoveryReport } from './durable/recovery.js'
export type { CapsuleErrorCode, CapsuleErrorOptions } from './errors.js'
export { CAPSULE_ERROR_CODES, CapsuleError, isCapsuleError } from './errors.js'
// The durable journal (docs/durability.md): the interface, its records and the memory default. What journal
// implementations share (canonical hashing, value codec, input checks, waiters) is @capsule/core/journal.
export type {
  CallInit,
  CallRecord,
  CheckpointInit,
  CheckpointRecord,
  Created,
  DurableSessionRecord,
  ExecutionInit,
  ExecutionRecord,
  FinalJournalState,
  HitlPromiseFilter,
  HitlPromiseInit,
  HitlPromiseKind,
  HitlPromiseRecord,
  Journal,
  JournalInfo,
  JournalState,
  JournalWaitOptions,
  Lease,
  LeaseClaim,
  LeaseToken,
  MemoryJournal,
  MemoryJournalOptions,
  RejectedJournalState,
  SessionInit,
  Settled,
  SettledFields,
  Settlement,
} from './journal/index.js'
export {
  JOURNAL_STATES,
  memoryJournal,
} from './journal/index.js'
export type {
  PromiseInit,
  PromiseKind,
  PromiseOutcome,
  PromiseRecord,
  PromiseState,
  PromiseStore,
} from './promises/promiseStore.js'
export { MemoryPromiseStore } from './promises/promiseStore.js'
export type { CodecName } from './protocol/codec.js'
export type { MimeBundle } from './protocol/messages.js'
export { PROTOCOL_VERSION } from './protocol/messages.js'
// The sandbox toolkit (command line, seccomp, cgroups, limits) is the subpath @capsule/core/sandbox; these
// are what a host needs beside the options: the types of two options and the availability probe.
export type {
  SandboxMount,
  SandboxProbe,
  SandboxUnavailableReason,
  SandboxUserOptions,
} from './sandbox/index.js'
export { probeSandbox } from './sandbox/index.js'
export type { GrantOptions, PolicyDecision } from './security/securityPolicy.js'
export { SecurityPolicy } from './security/securityPolicy.js'
export type {
  DisplayOutput,
  ExecutionEvent,
  ExecutionResult,
  ExecutionStatus,
  ExecutionTimeoutDetails,
  InputEvent,
  PythonError,
} from './session/execution.js'
export type { Limits } from './session/limits.js'
export { DEFAULT_LIMITS } from './session/limits.js'
export type { ExecuteOptions, InputHandler, SessionInfo, SessionState } from './session/session.js'
export { Session } from './session/session.js'
export type { PoolMember, PoolMetrics, PoolOptions } from './session/sessionPool.js'
export { DEFAULT_POOL_OPTIONS, SessionPool } from './session/sessionPool.js'
export type { Checkpoint } from './session/sessionSnapshots.js'
export type { RestoreReport } from './session/snapshotExchange.js'
export type { Clock } from './util/clock.js'
export { systemClock } from './util/clock.js'
export type { PythonInterpreterInfo } from './worker/pythonInterpreter.js'
export { probePythonInterpreter } from './worker/pythonInterpreter.js'

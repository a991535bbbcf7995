// Open ─close()→ Closing ─sessions closed→ Closed;  Open ─destroy(err)→ Closed
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { SecurityLevel } from '@capsule/provider-sdk'
import { CapabilityError, formatZodIssue } from '@capsule/provider-sdk'
import type { z } from 'zod'
import type { AuditSink } from './audit/auditLog.js'
import type { CallDirectory } from './calls/callDirectory.js'
import { type CapabilityDescriptor, CapabilityRegistry } from './capabilities/capabilityRegistry.js'
import { createInputProvider } from './capabilities/inputProvider.js'
import { DEFAULT_MAX_CHECKPOINT_BYTES } from './checkpoint/checkpointSeal.js'
import { type LoadCapsuleConfigOptions, loadCapsuleConfig } from './config/capsuleConfig.js'
import {
  type CapsuleOptions,
  capsuleOptionsSchema,
  type SandboxMode,
  type SessionOptions,
  sessionOptionsSchema,
} from './config/capsuleOptionsSchema.js'
import { createCapsuleContainer } from './di/container.js'
import { TOKENS } from './di/tokens.js'
import { DurableCallRecorder } from './durable/durableCallRecorder.js'
import type { DurableExecutionResult } from './durable/durableRunner.js'
import { DEFAULT_LEASE_TTL_MS, DurableSessions } from './durable/durableSessions.js'
import { type JournalPromiseControl, journalPromises } from './durable/journalPromises.js'
import type { RecoveryReport } from './durable/recovery.js'
import { CapsuleError } from './errors.js'
import type { Journal, JournalWaitOptions } from './journal/journal.js'
import { memoryJournal } from './journal/memoryJournal.js'
import type { PromiseKind, PromiseRecord, PromiseStore } from './promises/promiseStore.js'
import { hostRunsAsRoot, SandboxUidPool } from './sandbox/index.js'
import type { SecurityPolicy } from './security/securityPolicy.js'
import { DEFAULT_LIMITS, type Limits } from './session/limits.js'
import { PendingCallBudget } from './session/pendingCallBudget.js'
import { RestoredSessions } from './session/restoredSessions.js'
import type { Session } from './session/session.js'
import { SessionFactory } from './session/sessionFactory.js'
import {
  DEFAULT_POOL_OPTIONS,
  type PoolMetrics,
  type PoolOptions,
  SessionPool,
} from './session/sessionPool.js'
import type { PythonInterpreterInfo } from './worker/pythonInterpreter.js'

/** Settles pending promises from outside, e.g. an `input()` answered by another service. */
export interface PromiseControl {
  /** Resolves a pending promise (an input answer, a call result). Throws UNKNOWN_PROMISE when it is not pending. */
  resolve(id: string, value: unknown): void
  /** Rejects a pending call with a CapabilityError code (default UNAVAILABLE) and a message Python may see. */
  reject(id: string, message: string, code?: CapabilityError['code']): void
  /**
   * Every pending promise, optionally of one session and of one kind: `'execution'` (settles itself),
   * `'call'` (a capability call) or `'input'` (an `input()` waiting for its answer).
   */
  list(filter?: { sessionId?: string; kind?: PromiseKind }): PromiseRecord[]
}

/** A snapshot of a Capsule. */
export interface CapsuleInfo {
  state: 'open' | 'closing' | 'closed'
  level: SecurityLevel
  /** What sessions at the Capsule's level run in: `'bwrap'` or `'none'` (what `sandboxMode` means here). */
  sandbox: 'bwrap' | 'none'
  /** The `sandbox` option as configured: `'auto'`, `'bwrap'` or `'none'`. */
  sandboxMode: SandboxMode
  python: Pick<PythonInterpreterInfo, 'executable' | 'version' | 'hasMsgpack'> | undefined
  capabilities: CapabilityDescriptor[]
  sessions: number
  pendingPromises: number
  pool: PoolMetrics
}

/** Turns a zod failure into one precise INVALID_OPTIONS message: `limits.callTimeoutMs: …`. */
function optionsError(error: z.ZodError, input: unknown, schema: z.ZodType): CapsuleError {
  return new CapsuleError('INVALID_OPTIONS', formatZodIssue(error.issues[0]!, { input, schema }), {
    details: { issues: error.issues },
  })
}

/**
 * The composition root: capabilities, policy, promise store and audit of one host configuration, and
 * the sessions that run Python under it.
 */
export class Capsule {
  /** The security level of sessions that ask for none. */
  readonly level: SecurityLevel
  /** The sandbox option as given; {@link Capsule.sandboxInForce} says what it means for a level. */
  readonly sandbox: SandboxMode
  /** Settle pending promises (e.g. `input()` answers) from anywhere. */
  readonly promises: PromiseControl
  readonly #limits: Limits
  /** Bytes held by pending calls across all sessions (`maxCapsulePendingCallBytes`). */
  readonly #callBudget: PendingCallBudget
  readonly #registry: CapabilityRegistry
  readonly #policy: SecurityPolicy
  /** What a session without options gets; shared, so its decisions are remembered across sessions. */
  readonly #defaultSessionPolicy: SecurityPolicy
  readonly #store: PromiseStore
  /** Every capability call in flight, by id: listed and settled through `promises`. */
  readonly #calls: CallDirectory
  readonly #container: ReturnType<typeof createCapsuleContainer>
  readonly #sessions = new Map<string, Session>()
  readonly #journal: Journal
  readonly #recorder: DurableCallRecorder
  readonly #factory: SessionFactory
  readonly #restored: RestoredSessions
  readonly #durable: DurableSessions<Session>
  /** The options each durable key was last opened with (recovery reopens keys with the defaults). */
  readonly #durableOptions = new Map<string, SessionOptions & { policy?: SecurityPolicy }>()
  /** The journal's HITL promises (durable `input()`s, in-doubt calls), settled from any process or host. */
  readonly journalPromises: JournalPromiseControl
  /** Durable executions, from any process on the journal. */
  readonly executions: {
    /** Resolves with the execution's result once it is final, whichever host runs it. */
    wait(executionId: string, options?: JournalWaitOptions): Promise<DurableExecutionResult>
  }
  readonly #poolOptions: PoolOptions
  readonly #pool: SessionPool<Session>
  #state: 'open' | 'closing' | 'closed' = 'open'
  #closed: Promise<void> | undefined

  /** Validates every option and provider now: a bad configuration fails here, not at the first call. */
  constructor(options: CapsuleOptions = {}) {
    const parsed = capsuleOptionsSchema.safeParse(options)
    if (!parsed.success) throw optionsError(parsed.error, options, capsuleOptionsSchema)
    this.level = options.level ?? 'standard'
    this.sandbox = options.sandbox ?? 'auto'
    // Built (so checked) whatever the uid: a config must not be valid on one machine only.
    const sandboxUsers = new SandboxUidPool(options.sandboxUser)
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits }
    this.#callBudget = new PendingCallBudget(this.#limits.maxCapsulePendingCallBytes)
    const sinks: AuditSink[] = [...(options.auditSinks ?? [])]
    if (options.onAudit) {
      const onAudit = options.onAudit
      sinks.push({ write: (entry) => onAudit(entry) })
    }
    const inputProvider = createInputProvider((request) => this.#calls.ask(request))
    this.#journal = options.journal ?? memoryJournal({ clock: options.clock })
    const checkpoints = {
      key:
        typeof options.checkpointKey === 'string'
          ? Buffer.from(options.checkpointKey, 'utf8')
          : (options.checkpointKey ?? randomBytes(32)),
      maxBytes: options.maxCheckpointBytes ?? DEFAULT_MAX_CHECKPOINT_BYTES,
      load: async (id: string) => (await this.#journal.getCheckpoint(id))?.blob,
    }
    this.#poolOptions = { ...DEFAULT_POOL_OPTIONS, ...options.pool }
    // Before anything is built: `pool.warmFrom` bytes that do not verify fail here.
    this.#restored = new RestoredSessions({
      ...checkpoints,
      warmFrom: this.#poolOptions.warmFrom,
      create: (sessionOptions, policy) => this.#factory.create(sessionOptions, policy),
      acquire: (create) => this.#pool.acquire(create),
      stopWarming: (error) => this.#pool.stopWarming(error),
      poolHashSeed: () => this.#factory.defaultHashSeed,
    })
    this.#recorder = new DurableCallRecorder({
      journal: this.#journal,
      annotationsOf: (id) => this.#registry.get(id)?.definition.annotations,
    })
    this.#container = createCapsuleContainer({
      recorder: this.#recorder,
      providers: [inputProvider, ...(options.providers ?? [])],
      grants: { level: this.level, allow: options.allow, deny: options.deny },
      callTimeoutMs: this.#limits.callTimeoutMs,
      clock: options.clock,
      logger: options.logger,
      promiseStore: options.promiseStore,
      auditSinks: sinks,
    })
    this.#registry = this.#container.resolve(TOKENS.registry)
    this.#policy = this.#container.resolve(TOKENS.policy)
    this.#defaultSessionPolicy = this.#policy.narrow({})
    this.#store = this.#container.resolve(TOKENS.promiseStore)
    this.#calls = this.#container.resolve(TOKENS.callDirectory)
    this.promises = {
      resolve: (id, value) => this.#settleExternally(id, { value }),
      reject: (id, message, code = 'UNAVAILABLE') =>
        this.#settleExternally(id, { error: new CapabilityError(code, message) }),
      list: (filter) => [...this.#store.list(filter), ...this.#calls.list(filter)],
    }
    this.#durable = new DurableSessions<Session>({
      journal: this.#journal,
      recorder: this.#recorder,
      hostId: options.hostId ?? hostname(),
      leaseTtlMs: options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS,
      clock: this.#container.resolve(TOKENS.clock),
      openSession: (request) =>
        this.#factory.create(this.#durableOptions.get(request.key) ?? {}, undefined, request),
    })
    this.executions = { wait: (id, waitOptions) => this.#durable.wait(id, waitOptions) }
    this.journalPromises = journalPromises(this.#journal)
    this.#factory = new SessionFactory({
      options,
      limits: this.#limits,
      container: this.#container,
      calls: this.#calls,
      store: this.#store,
      callBudget: this.#callBudget,
      recorder: this.#recorder,
      checkpoints,
      maxExecutionsPerWorker: this.#poolOptions.maxExecutionsPerWorker,
      sandboxUsers: hostRunsAsRoot() ? sandboxUsers : null,
      defaultPolicy: this.#defaultSessionPolicy,
      sandboxInForce: (level) => this.sandboxInForce(level),
      assertOpen: () => this.#assertOpen(),
      onOpened: (session) => this.#sessions.set(session.id, session),
      onClosed: (session, durable) => {
        this.#sessions.delete(session.id)
        if (durable) durable.onClosed()
        else this.#pool.release(session)
      },
      onWorkerLost: (session) => this.#pool.discard(session),
    })
    // Last: with pool.min > 0 the pool starts warm sessions right away.
    this.#pool = new SessionPool(
      () => this.#restored.pooled(),
      this.#poolOptions,
      this.#container.resolve(TOKENS.clock),
    )
  }

  /**
   * A Capsule from a config file (`capsule.config.json`, `.js`, `.mjs`, `.ts`) or a config object, validated
   * with precise errors (`capsule.config.json: limits.callTimeoutMs: expected number`). JSON configs name
   * providers by key; pass their factories in `options.providerFactories` (core depends on no provider).
   */
  static async fromConfig(source: string | object, options?: LoadCapsuleConfigOptions): Promise<Capsule> {
    return new Capsule(await loadCapsuleConfig(source, options))
  }

  /**
   * A ready session: a started worker with the granted capabilities injected. Without options it comes from
   * the pool (restored ahead of time with `pool.warmFrom`); `{ restore }` alone restores into a pooled
   * worker when its hash seed fits, else into a fresh one (docs/checkpoints.md). Fails with
   * PYTHON_NOT_FOUND / PYTHON_UNSUPPORTED / SANDBOX_UNAVAILABLE / WORKER_START_FAILED, and for a restore
   * CHECKPOINT_INVALID / UNKNOWN_RECORD.
   */
  async session(options: SessionOptions = {}): Promise<Session> {
    this.#assertOpen()
    const parsed = sessionOptionsSchema.safeParse(options)
    if (!parsed.success) throw optionsError(parsed.error, options, sessionOptionsSchema)
    const isDefault = Object.values(options).every((value) => value === undefined)
    if (isDefault) return this.#pool.acquire()
    // Narrow now, so a bad request fails before it waits for a pool slot.
    const policy = this.#policy.narrow({ level: options.level, allow: options.allow, deny: options.deny })
    if (options.key !== undefined) {
      this.#durableOptions.set(options.key, { ...options, policy })
      const durable = await this.#durable.session(options.key, policy)
      if (options.restore !== undefined) await durable.restore(options.restore)
      return durable
    }
    if (options.restore !== undefined) return this.#restored.open(options, policy)
    return this.#pool.acquire(() => this.#factory.create(options, policy))
  }

  /**
   * Claims and finishes the durable work this host may take: sessions with pending executions whose lease
   * is this host's, nobody's, or lapsed. Each is rebuilt in a fresh worker (its finished cells replayed
   * with every call answered from the journal) and its pending cells run to their end. See
   * docs/durability.md.
   */
  recover(): Promise<RecoveryReport> {
    this.#assertOpen()
    return this.#durable.recover(this.#defaultSessionPolicy)
  }

  /** Every capability the Capsule knows, with the level that grants it. */
  capabilities(): CapabilityDescriptor[] {
    return this.#registry.list().map((capability) => CapabilityRegistry.describe(capability))
  }

  /** A snapshot of the Capsule: level, sandbox, interpreter, capabilities, sessions, pending promises. */
  info(): CapsuleInfo {
    const python = this.#factory.interpreter
    return {
      state: this.#state,
      level: this.level,
      sandbox: this.sandboxInForce(),
      sandboxMode: this.sandbox,
      python: python && {
        executable: python.executable,
        version: python.version,
        hasMsgpack: python.hasMsgpack,
      },
      capabilities: this.capabilities(),
      sessions: this.#sessions.size,
      pendingPromises: this.#store.size + this.#calls.size,
      pool: this.#pool.metrics(),
    }
  }

  /** Closes every session (letting running executions finish), then releases providers. Idempotent. */
  close(): Promise<void> {
    if (!this.#closed) this.#closed = this.#close()
    return this.#closed
  }

  /** Ends everything at once: pending executions and calls are rejected with `error`. Idempotent. */
  destroy(error: CapsuleError = new CapsuleError('CAPSULE_CLOSED', 'the Capsule was destroyed')): void {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    this.#pool.close().catch(() => undefined)
    for (const session of [...this.#sessions.values()]) session.destroy(error)
    this.#closed ??= this.#disposeProviders()
  }

  async #close(): Promise<void> {
    if (this.#state === 'closed') return
    this.#state = 'closing'
    await this.#pool.close()
    await Promise.all([...this.#sessions.values()].map((session) => session.close()))
    this.#state = 'closed'
    await this.#disposeProviders()
  }

  async #disposeProviders(): Promise<void> {
    await Promise.allSettled(this.#registry.providers().map(async (provider) => provider.dispose?.()))
  }

  #assertOpen(): void {
    if (this.#state !== 'open') throw new CapsuleError('CAPSULE_CLOSED', 'the Capsule is closed')
  }

  /**
   * The sandbox a session at `level` (default: the Capsule's) runs in: what `'auto'` means, spelled out —
   * bubblewrap below `unrestricted`, none at `unrestricted`.
   */
  sandboxInForce(level: SecurityLevel = this.level): 'none' | 'bwrap' {
    if (this.sandbox === 'none') return 'none'
    if (this.sandbox === 'auto' && level === 'unrestricted') return 'none'
    return 'bwrap'
  }

  #settleExternally(id: string, outcome: { value: unknown } | { error: unknown }): void {
    if (typeof id === 'string' && this.#calls.settle(id, outcome)) return
    if (typeof id !== 'string' || !this.#store.get(id)) {
      throw new CapsuleError('UNKNOWN_PROMISE', `no pending promise has the id ${JSON.stringify(id)}`)
    }
    if (this.#store.get(id)?.kind === 'execution') {
      throw new CapsuleError(
        'INVALID_ARGUMENT',
        `${id} is an execution, and executions settle themselves when their code ends: stop one with session.interrupt(); only calls and inputs (promises.list({ kind: 'input' })) are settled from outside`,
        { details: { id, kind: 'execution' } },
      )
    }
    this.#store.settle(id, 'value' in outcome ? 'resolved' : 'rejected', outcome)
  }
}

// Open ─close()→ Closing ─sessions closed→ Closed;  Open ─destroy(err)→ Closed
import { randomBytes } from 'node:crypto'
import type { CapabilityLogger, ProviderDefinition, SecurityLevel } from '@capsule/provider-sdk'
import { CapabilityError, SECURITY_LEVELS } from '@capsule/provider-sdk'
import { z } from 'zod'
import type { AuditEntry, AuditSink } from './audit/auditLog.js'
import { type CapabilityDescriptor, CapabilityRegistry } from './capabilities/capabilityRegistry.js'
import { createInputProvider, type InputRequest } from './capabilities/inputProvider.js'
import { type LoadCapsuleConfigOptions, loadCapsuleConfig } from './config/capsuleConfig.js'
import { createCapsuleContainer } from './di/container.js'
import { TOKENS } from './di/tokens.js'
import { CapsuleError } from './errors.js'
import type { PromiseKind, PromiseRecord, PromiseStore } from './promises/promiseStore.js'
import type { CodecName } from './protocol/codec.js'
import {
  hostRunsAsRoot,
  type SandboxMount,
  SandboxUidPool,
  type SandboxUserOptions,
} from './sandbox/index.js'
import { prepareSandbox, type SandboxPlan } from './sandbox/prepareSandbox.js'
import { sandboxUserSchema } from './sandbox/sandboxUserSchema.js'
import type { SecurityPolicy } from './security/securityPolicy.js'
import { DEFAULT_LIMITS, type Limits, limitsSchema, sessionLimitsSchema } from './session/limits.js'
import { PendingCallBudget } from './session/pendingCallBudget.js'
import { announceInput, type InputHandler, Session } from './session/session.js'
import {
  DEFAULT_POOL_OPTIONS,
  type PoolMetrics,
  type PoolOptions,
  SessionPool,
} from './session/sessionPool.js'
import type { Clock } from './util/clock.js'
import { type PythonInterpreterInfo, probePythonInterpreter } from './worker/pythonInterpreter.js'
import { buildWorkerLaunch } from './worker/workerLauncher.js'
import { WorkerProcess } from './worker/workerProcess.js'

/** Whether the worker runs inside bubblewrap: required, never, or below `unrestricted` (default). */
export type SandboxMode = 'auto' | 'bwrap' | 'none'

/**
 * Options of a Capsule. Everything is optional: docs/host-guide.md lists every option with its default,
 * and {@link DEFAULT_LIMITS} and {@link DEFAULT_POOL_OPTIONS} hold those of the limits and the pool.
 */
export interface CapsuleOptions {
  /** The security level of sessions (default `standard`). */
  level?: SecurityLevel
  /** Capability providers (`httpProvider(...)`, `fsProvider(...)`, third-party ones). */
  providers?: ProviderDefinition[]
  /** Capability ids or patterns granted beyond the level. */
  allow?: string[]
  /** Capability ids or patterns never granted; deny always wins. */
  deny?: string[]
  /** Worker isolation (default `auto`). */
  sandbox?: SandboxMode
  /**
   * Host directories bound into the sandbox for heavy data work. These are OUTSIDE the capability
   * audit: Python reaches them with plain `open()`. Ignored without a sandbox.
   */
  mounts?: SandboxMount[]
  /** The bubblewrap binary (default: `bwrap` on PATH). */
  bwrapPath?: string
  /**
   * Who sandboxed workers are on the host when it runs as root (ignored otherwise: they run as the host's
   * user). Each worker gets its own uid from `uids` (default 65,536 from 1879048192), leased machine-wide
   * and given back when it exits, and all share `gid`: no worker runs as root, and none can signal or
   * trace another. See docs/sandbox.md.
   */
  sandboxUser?: SandboxUserOptions
  /** Time, size and resource limits of every session; an omitted one keeps its {@link DEFAULT_LIMITS} value. */
  limits?: Partial<Limits>
  /** The Python interpreter (default: `CAPSULE_PYTHON`, else `python3` on PATH). */
  python?: string
  /** The wire codec: `auto` picks msgpack when the interpreter has it (default). */
  codec?: 'auto' | CodecName
  /**
   * Extra environment variables for workers. Of the host's environment only the locale, `TZ` and `TERM`
   * pass; `PATH` is `/usr/local/bin:/usr/bin:/bin` unless set here.
   */
  env?: Record<string, string>
  /** Working directory of unsandboxed workers (a sandboxed worker starts in its private `/tmp`). */
  cwd?: string
  /** Receives every audit entry. Throwing refuses the call being recorded (fail closed). */
  onAudit?: (entry: AuditEntry) => void
  /** Answers `input()` when the execution's consumer does not. */
  onInput?: InputHandler
  /** Where capability handlers and the core log. Silent by default. */
  logger?: CapabilityLogger
  /** Replaces the in-memory promise store. */
  promiseStore?: PromiseStore
  /** Extra audit sinks (besides `onAudit`). */
  auditSinks?: AuditSink[]
  /** Replaces the clock (tests, simulations). */
  clock?: Clock
  /** Warm sessions and the cap on open ones (default: none warm, at most 32 open). */
  pool?: Partial<PoolOptions>
}

/** Per-session narrowing: a lower level, fewer grants, other limits. Never wider than the Capsule. */
export interface SessionOptions {
  level?: SecurityLevel
  allow?: string[]
  deny?: string[]
  limits?: Partial<Limits>
  onInput?: InputHandler
}

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

const optionsSchema = z
  .object({
    level: z.enum(SECURITY_LEVELS).optional(),
    providers: z.array(z.any()).optional(),
    allow: z.array(z.string()).optional(),
    deny: z.array(z.string()).optional(),
    sandbox: z.enum(['auto', 'bwrap', 'none']).optional(),
    mounts: z
      .array(
        z
          .object({ source: z.string().min(1), target: z.string().min(1).optional(), write: z.boolean() })
          .strict(),
      )
      .optional(),
    bwrapPath: z.string().min(1).optional(),
    sandboxUser: sandboxUserSchema.optional(),
    limits: limitsSchema.optional(),
    python: z.string().min(1).optional(),
    codec: z.enum(['auto', 'msgpack', 'json']).optional(),
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().min(1).optional(),
    onAudit: z.function().optional(),
    onInput: z.function().optional(),
    logger: z.any().optional(),
    promiseStore: z.any().optional(),
    auditSinks: z.array(z.any()).optional(),
    clock: z.any().optional(),
    pool: z
      .object({
        min: z.number().int().min(0).max(256),
        max: z.number().int().min(1).max(4096),
        idleTimeoutMs: z.number().int().min(0),
        maxExecutionsPerWorker: z.number().int().min(0),
      })
      .partial()
      .strict()
      .refine((pool) => (pool.min ?? DEFAULT_POOL_OPTIONS.min) <= (pool.max ?? DEFAULT_POOL_OPTIONS.max), {
        message: 'pool.min must not exceed pool.max',
      })
      .optional(),
  })
  .strict()

const sessionOptionsSchema = z
  .object({
    level: z.enum(SECURITY_LEVELS).optional(),
    allow: z.array(z.string()).optional(),
    deny: z.array(z.string()).optional(),
    limits: sessionLimitsSchema.optional(),
    onInput: z.function().optional(),
  })
  .strict()

/** Turns a zod failure into one precise INVALID_OPTIONS message: `limits.callTimeoutMs: …`. */
function optionsError(prefix: string, error: z.ZodError): CapsuleError {
  const issue = error.issues[0]
  const path = issue?.path.length ? issue.path.map(String).join('.') : prefix
  return new CapsuleError('INVALID_OPTIONS', `${path}: ${issue?.message ?? 'invalid'}`, {
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
  readonly #options: CapsuleOptions
  readonly #limits: Limits
  /** Bytes held by pending calls across all sessions (`maxCapsulePendingCallBytes`). */
  readonly #callBudget: PendingCallBudget
  readonly #registry: CapabilityRegistry
  readonly #policy: SecurityPolicy
  /** What a session without options gets; shared, so its decisions are remembered across sessions. */
  readonly #defaultSessionPolicy: SecurityPolicy
  readonly #store: PromiseStore
  readonly #container: ReturnType<typeof createCapsuleContainer>
  readonly #sessions = new Map<string, Session>()
  readonly #poolOptions: PoolOptions
  readonly #pool: SessionPool<Session>
  #interpreter: Promise<PythonInterpreterInfo> | undefined
  /** Where sandboxed workers' uids come from: only when the host is root. */
  readonly #sandboxUsers: SandboxUidPool | null
  #sandboxPlan: Promise<SandboxPlan> | undefined
  #interpreterInfo: PythonInterpreterInfo | undefined
  #state: 'open' | 'closing' | 'closed' = 'open'
  #closed: Promise<void> | undefined

  /** Validates every option and provider now: a bad configuration fails here, not at the first call. */
  constructor(options: CapsuleOptions = {}) {
    const parsed = optionsSchema.safeParse(options)
    if (!parsed.success) throw optionsError('options', parsed.error)
    this.#options = options
    this.level = options.level ?? 'standard'
    this.sandbox = options.sandbox ?? 'auto'
    // Built (so checked) whatever the uid: a config must not be valid on one machine only.
    const sandboxUsers = new SandboxUidPool(options.sandboxUser)
    this.#sandboxUsers = hostRunsAsRoot() ? sandboxUsers : null
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits }
    this.#callBudget = new PendingCallBudget(this.#limits.maxCapsulePendingCallBytes)
    const sinks: AuditSink[] = [...(options.auditSinks ?? [])]
    if (options.onAudit) {
      const onAudit = options.onAudit
      sinks.push({ write: (entry) => onAudit(entry) })
    }
    const inputProvider = createInputProvider((request) => this.#announceInput(request))
    this.#container = createCapsuleContainer({
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
    this.promises = {
      resolve: (id, value) => this.#settleExternally(id, { value }),
      reject: (id, message, code = 'UNAVAILABLE') =>
        this.#settleExternally(id, { error: new CapabilityError(code, message) }),
      list: (filter) => this.#store.list(filter),
    }
    this.#poolOptions = { ...DEFAULT_POOL_OPTIONS, ...options.pool }
    // Last: with pool.min > 0 the pool starts warm sessions right away.
    this.#pool = new SessionPool(
      () => this.#createSession({}),
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
   * A ready session: a started worker with the granted capabilities injected. Fails with
   * PYTHON_NOT_FOUND / PYTHON_UNSUPPORTED / SANDBOX_UNAVAILABLE / WORKER_START_FAILED.
   */
  async session(options: SessionOptions = {}): Promise<Session> {
    this.#assertOpen()
    const parsed = sessionOptionsSchema.safeParse(options)
    if (!parsed.success) throw optionsError('session options', parsed.error)
    const isDefault = Object.values(options).every((value) => value === undefined)
    if (isDefault) return this.#pool.acquire()
    // Narrow now, so a bad request fails before it waits for a pool slot.
    const policy = this.#policy.narrow({ level: options.level, allow: options.allow, deny: options.deny })
    return this.#pool.acquire(() => this.#createSession(options, policy))
  }

  async #createSession(
    options: SessionOptions,
    policy: SecurityPolicy = this.#defaultSessionPolicy,
  ): Promise<Session> {
    this.#assertOpen()
    const limits = { ...this.#limits, ...options.limits }
    const sandbox = this.sandboxInForce(policy.level)
    const interpreter = await this.#probeInterpreter()
    const plan = sandbox === 'bwrap' ? await this.#prepareSandbox(interpreter) : undefined
    this.#assertOpen()
    const session: Session = new Session({
      id: `ses_${randomBytes(6).toString('hex')}`,
      policy,
      limits,
      invoker: this.#container.resolve(TOKENS.invoker),
      store: this.#store,
      clock: this.#container.resolve(TOKENS.clock),
      sandbox,
      onInput: options.onInput ?? this.#options.onInput,
      maxExecutionsPerWorker: this.#poolOptions.maxExecutionsPerWorker,
      callBudget: this.#callBudget,
      logger: this.#container.resolve(TOKENS.logger),
      onClose: (closed) => {
        this.#sessions.delete(closed.id)
        this.#pool.release(closed)
      },
      onWorkerLost: (lost) => this.#pool.discard(lost),
      startWorker: (init, handlers) =>
        WorkerProcess.start(
          {
            command: buildWorkerLaunch({
              interpreter,
              codecs: this.#codecs(interpreter),
              sandbox: plan ? { mode: 'bwrap', ...plan } : { mode: 'none' },
              limits,
              env: this.#options.env,
              cwd: this.#options.cwd,
            }),
            maxFrameBytes: limits.maxFrameBytes,
            frameShape: {
              maxFrameKeys: limits.maxFrameKeys,
              maxFrameItems: limits.maxFrameItems,
              maxFrameDepth: limits.maxFrameDepth,
            },
            startTimeoutMs: limits.startTimeoutMs,
            heartbeatIntervalMs: limits.heartbeatIntervalMs,
            heartbeatTimeoutMs: limits.heartbeatTimeoutMs,
            init,
          },
          handlers,
        ),
    })
    this.#sessions.set(session.id, session)
    try {
      await session.start()
    } catch (error) {
      session.destroy()
      throw error
    }
    return session
  }

  /** Every capability the Capsule knows, with the level that grants it. */
  capabilities(): CapabilityDescriptor[] {
    return this.#registry.list().map((capability) => CapabilityRegistry.describe(capability))
  }

  /** A snapshot of the Capsule: level, sandbox, interpreter, capabilities, sessions, pending promises. */
  info(): CapsuleInfo {
    const python = this.#interpreterInfo
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
      pendingPromises: this.#store.size,
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

  // Never falls back silently: a sandbox that is needed and cannot start is SANDBOX_UNAVAILABLE, and so is
  // one whose worker would have to run as root. A failure is not cached: the host may fix it and retry.
  #prepareSandbox(interpreter: PythonInterpreterInfo): Promise<SandboxPlan> {
    if (!this.#sandboxPlan) {
      this.#sandboxPlan = prepareSandbox({
        bwrapPath: this.#options.bwrapPath,
        interpreter,
        mounts: this.#options.mounts ?? [],
        users: this.#sandboxUsers,
      })
      this.#sandboxPlan.catch(() => {
        this.#sandboxPlan = undefined
      })
    }
    return this.#sandboxPlan
  }

  #probeInterpreter(): Promise<PythonInterpreterInfo> {
    if (!this.#interpreter) {
      const python = this.#options.python ?? process.env.CAPSULE_PYTHON ?? 'python3'
      this.#interpreter = probePythonInterpreter(python).then((info) => {
        this.#interpreterInfo = info
        return info
      })
      // A failed probe is not cached: the host may install Python and try again.
      this.#interpreter.catch(() => {
        this.#interpreter = undefined
      })
    }
    return this.#interpreter
  }

  #codecs(interpreter: PythonInterpreterInfo): CodecName[] {
    const codec = this.#options.codec ?? 'auto'
    if (codec === 'json') return ['json']
    if (codec === 'msgpack') {
      if (!interpreter.hasMsgpack) {
        throw new CapsuleError(
          'INVALID_OPTIONS',
          `codec 'msgpack' was requested but ${interpreter.executable} cannot import msgpack`,
        )
      }
      return ['msgpack']
    }
    return interpreter.hasMsgpack ? ['msgpack', 'json'] : ['json']
  }

  #announceInput(request: InputRequest): void {
    this.#sessions.get(request.sessionId)?.[announceInput](request)
  }

  #settleExternally(id: string, outcome: { value: unknown } | { error: unknown }): void {
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

import { randomBytes } from 'node:crypto'
import type { SecurityLevel } from '@capsule/provider-sdk'
import type { CallDirectory } from '../calls/callDirectory.js'
import type { CapsuleOptions, SessionOptions } from '../config/capsuleOptionsSchema.js'
import type { createCapsuleContainer } from '../di/container.js'
import { TOKENS } from '../di/tokens.js'
import type { DurableCallRecorder } from '../durable/durableCallRecorder.js'
import type { OpenDurableSession } from '../durable/durableSessions.js'
import { CapsuleError } from '../errors.js'
import type { PromiseStore } from '../promises/promiseStore.js'
import type { CodecName } from '../protocol/codec.js'
import type { SandboxUidPool } from '../sandbox/index.js'
import { prepareSandbox, type SandboxPlan } from '../sandbox/prepareSandbox.js'
import type { SecurityPolicy } from '../security/securityPolicy.js'
import { launchWorker } from '../worker/launchWorker.js'
import { type PythonInterpreterInfo, probePythonInterpreter } from '../worker/pythonInterpreter.js'
import { buildWorkerLaunch } from '../worker/workerLauncher.js'
import type { Limits } from './limits.js'
import type { PendingCallBudget } from './pendingCallBudget.js'
import { Session } from './session.js'
import type { SessionCheckpoints } from './sessionSnapshots.js'

/** What a durable session's journal side hands the factory when it opens the key's session. */
export type DurableSessionRequest = Parameters<OpenDurableSession<Session>>[0]

/** How one Capsule's sessions are built: its settings, shared parts and the hooks that track them. */
export interface SessionFactoryDeps {
  options: CapsuleOptions
  limits: Limits
  container: ReturnType<typeof createCapsuleContainer>
  calls: CallDirectory
  store: PromiseStore
  callBudget: PendingCallBudget
  recorder: DurableCallRecorder
  checkpoints: SessionCheckpoints
  maxExecutionsPerWorker: number
  /** Where sandboxed workers' uids come from: only when the host is root. */
  sandboxUsers: SandboxUidPool | null
  defaultPolicy: SecurityPolicy
  sandboxInForce(level: SecurityLevel): 'none' | 'bwrap'
  /** Throws CAPSULE_CLOSED once the Capsule is closing. */
  assertOpen(): void
  /** A session was built (before its worker starts). */
  onOpened(session: Session): void
  /** A session closed; `durable` when the journal side opened it. */
  onClosed(session: Session, durable: DurableSessionRequest | undefined): void
  /** A session's worker died on its own. */
  onWorkerLost(session: Session): void
}

/** Extra settings of one session beyond its public options. */
export type SessionBuildOptions = SessionOptions & {
  policy?: SecurityPolicy
  /** PYTHONHASHSEED of the worker (a restored session takes its checkpoint's). */
  hashSeed?: string
}

/**
 * Builds and starts the sessions of one Capsule: probes the interpreter and prepares the sandbox once
 * (a failure is not cached, so the host may fix it and retry), then launches each worker with the
 * session's limits, policy and hash seed.
 */
export class SessionFactory {
  readonly #deps: SessionFactoryDeps
  #interpreter: Promise<PythonInterpreterInfo> | undefined
  #interpreterInfo: PythonInterpreterInfo | undefined
  #sandboxPlan: Promise<SandboxPlan> | undefined

  constructor(deps: SessionFactoryDeps) {
    this.#deps = deps
  }

  /** The interpreter once it has been probed. */
  get interpreter(): PythonInterpreterInfo | undefined {
    return this.#interpreterInfo
  }

  /** The hash seed workers get when a session fixes none: the host's `env.PYTHONHASHSEED`, or none. */
  get defaultHashSeed(): string {
    return validSeed(this.#deps.options.env?.PYTHONHASHSEED) ?? ''
  }

  /** A started session. Fails with PYTHON_NOT_FOUND / SANDBOX_UNAVAILABLE / WORKER_START_FAILED / …. */
  async create(
    options: SessionBuildOptions,
    policy: SecurityPolicy = options.policy ?? this.#deps.defaultPolicy,
    durable?: DurableSessionRequest,
  ): Promise<Session> {
    const deps = this.#deps
    deps.assertOpen()
    const limits = { ...deps.limits, ...options.limits }
    const sandbox = deps.sandboxInForce(policy.level)
    const interpreter = await this.#probeInterpreter()
    const plan = sandbox === 'bwrap' ? await this.#prepareSandbox(interpreter) : undefined
    deps.assertOpen()
    const clock = deps.container.resolve(TOKENS.clock)
    const seed = durable ? String(durable.pythonHashSeed) : validSeed(options.hashSeed)
    const session: Session = new Session({
      id: `ses_${randomBytes(6).toString('hex')}`,
      policy,
      limits,
      pipeline: deps.container.resolve(TOKENS.callPipeline),
      calls: deps.calls,
      store: deps.store,
      clock,
      sandbox,
      onInput: options.onInput ?? deps.options.onInput,
      maxExecutionsPerWorker: deps.maxExecutionsPerWorker,
      callBudget: deps.callBudget,
      logger: deps.container.resolve(TOKENS.logger),
      onClose: (closed) => deps.onClosed(closed, durable),
      durable: durable?.durable,
      checkpoints: deps.checkpoints,
      journalInput: durable && {
        ask: (call) => deps.recorder.journalInput(call),
        settled: (call) => deps.recorder.journalInputSettled(call),
      },
      onWorkerLost: (lost) => deps.onWorkerLost(lost),
      startWorker: (init, handlers) =>
        launchWorker(
          {
            command: buildWorkerLaunch({
              interpreter,
              codecs: this.#codecs(interpreter),
              sandbox: plan ? { mode: 'bwrap', ...plan } : { mode: 'none' },
              limits,
              env: seed === undefined ? deps.options.env : { ...deps.options.env, PYTHONHASHSEED: seed },
              cwd: deps.options.cwd,
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
            clock,
          },
          handlers,
        ),
    })
    deps.onOpened(session)
    try {
      await session.start()
    } catch (error) {
      session.destroy()
      throw error
    }
    return session
  }

  // Never falls back silently: a sandbox that is needed and cannot start is SANDBOX_UNAVAILABLE, and so is
  // one whose worker would have to run as root. A failure is not cached: the host may fix it and retry.
  #prepareSandbox(interpreter: PythonInterpreterInfo): Promise<SandboxPlan> {
    if (!this.#sandboxPlan) {
      this.#sandboxPlan = prepareSandbox({
        bwrapPath: this.#deps.options.bwrapPath,
        interpreter,
        mounts: this.#deps.options.mounts ?? [],
        users: this.#deps.sandboxUsers,
      })
      this.#sandboxPlan.catch(() => {
        this.#sandboxPlan = undefined
      })
    }
    return this.#sandboxPlan
  }

  #probeInterpreter(): Promise<PythonInterpreterInfo> {
    if (!this.#interpreter) {
      const python = this.#deps.options.python ?? process.env.CAPSULE_PYTHON ?? 'python3'
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
    const codec = this.#deps.options.codec ?? 'auto'
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
}

// PYTHONHASHSEED takes 0…4294967295; anything else (a random seed, '') leaves the worker's seed alone.
function validSeed(seed: string | undefined): string | undefined {
  return seed !== undefined && /^\d{1,10}$/.test(seed) ? seed : undefined
}

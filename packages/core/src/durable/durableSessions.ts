import { randomBytes } from 'node:crypto'
import { CapsuleError } from '../errors.js'
import { canonicalHash } from '../journal/canonicalHash.js'
import type { Journal, JournalWaitOptions } from '../journal/journal.js'
import type {
  DurableSessionRecord,
  HitlPromiseKind,
  HitlPromiseRecord,
  Lease,
} from '../journal/journalRecords.js'
import type { SecurityPolicy } from '../security/securityPolicy.js'
import type { Execution } from '../session/execution.js'
import type { ExecuteOptions } from '../session/sessionTypes.js'
import type { Clock } from '../util/clock.js'
import type { DurableCallRecorder } from './durableCallRecorder.js'
import { type DurableExecutionResult, DurableRunner, recordedResult } from './durableRunner.js'
import { LeaseKeeper, leaseLost } from './leaseKeeper.js'
import { type RecoveredSession, type RecoveryReport, rebuildSession, recoverSessions } from './recovery.js'

/** The default time a durable session's lease lasts without renewal. */
export const DEFAULT_LEASE_TTL_MS = 30_000

/** A session as the durable layer needs it. */
export interface DurableSessionHandle {
  readonly id: string
  destroy(error: CapsuleError): void
}

/** How a durable session's worker is started and how its cells reach its queue. */
export type OpenDurableSession<S extends DurableSessionHandle> = (request: {
  key: string
  pythonHashSeed: number
  /** The session's durable part, built by the session with a way to run a cell in its own queue. */
  durable: (
    execute: (code: string, options: ExecuteOptions, streaming: boolean) => Execution,
  ) => DurableRunner
  onClosed: () => void
}) => Promise<S>

/** What the durable layer needs from its Capsule. */
export interface DurableSessionsDeps<S extends DurableSessionHandle> {
  journal: Journal
  recorder: DurableCallRecorder
  hostId: string
  leaseTtlMs: number
  clock: Clock
  openSession: OpenDurableSession<S>
}

/**
 * A Capsule's durable sessions: opening one under its key (journal record, lease, fixed hash seed),
 * recovery after a crash, waiting for executions from any process, and the journal's HITL promises.
 */
export class DurableSessions<S extends DurableSessionHandle> {
  readonly #deps: DurableSessionsDeps<S>
  readonly #open = new Map<string, Promise<{ session: S; runner: DurableRunner }>>()
  readonly #rebuilt = new Map<string, RecoveredSession>()

  constructor(deps: DurableSessionsDeps<S>) {
    this.#deps = deps
  }

  /** The durable session under `key`: created, or taken up again. SESSION_BUSY when another live host holds it. */
  async session(key: string, policy: SecurityPolicy): Promise<S> {
    const open = this.#open.get(key)
    if (open) return (await open).session
    const opening = this.#openNew(key, policy)
    this.#open.set(key, opening)
    try {
      return (await opening).session
    } catch (error) {
      this.#open.delete(key)
      throw error
    }
  }

  /** Claims and finishes the pending work this host may take (see {@link recoverSessions}). */
  async recover(policy: SecurityPolicy): Promise<RecoveryReport> {
    const { journal, hostId, leaseTtlMs } = this.#deps
    await journal.open()
    return recoverSessions({
      journal,
      hostId,
      leaseTtlMs,
      openSession: async (record, lease) => {
        const opening = this.#start(record, lease, fingerprintOf(policy))
        this.#open.set(record.key, opening)
        return (await opening).runner
      },
    })
  }

  /** Resolves with the execution's result once it is final, whichever process runs it. */
  async wait(executionId: string, options?: JournalWaitOptions): Promise<DurableExecutionResult> {
    await this.#deps.journal.open()
    return recordedResult(await this.#deps.journal.waitExecution(executionId, options))
  }

  /** The journal's pending HITL promises (inputs and in-doubt calls), from every host. */
  async listPromises(
    filter: { kind?: HitlPromiseKind; sessionKey?: string } = {},
  ): Promise<HitlPromiseRecord[]> {
    await this.#deps.journal.open()
    return this.#deps.journal.listPromises({ ...filter, state: 'pending' })
  }

  /** How the last opening of `key` in this Capsule brought it up to its journal. */
  rebuilt(key: string): RecoveredSession | undefined {
    return this.#rebuilt.get(key)
  }

  async #openNew(key: string, policy: SecurityPolicy): Promise<{ session: S; runner: DurableRunner }> {
    const { journal, hostId, leaseTtlMs } = this.#deps
    await journal.open()
    const fingerprint = fingerprintOf(policy)
    const { record } = await journal.ensureSession({
      key,
      pythonHashSeed: randomBytes(4).readUInt32BE(0),
      policyFingerprint: fingerprint,
    })
    const lease = await journal.claimLease({ sessionKey: key, owner: hostId, ttlMs: leaseTtlMs })
    if (lease === null) {
      const held = await journal.getSession(key)
      throw new CapsuleError(
        'SESSION_BUSY',
        `durable session ${JSON.stringify(key)} is held by another host`,
        {
          details: {
            sessionKey: key,
            owner: held?.owner ?? null,
            leaseExpiresAt: held?.leaseExpiresAt ?? null,
          },
        },
      )
    }
    const started = await this.#start(record, lease, fingerprint)
    // Taken up again (a restart, a crash): its namespace comes back and its pending cells finish.
    if (record.lastSequence > 0) {
      try {
        this.#rebuilt.set(key, await rebuildSession(journal, started.runner))
      } catch (error) {
        started.session.destroy(
          new CapsuleError('SESSION_CLOSED', 'the durable session could not be rebuilt', { cause: error }),
        )
        throw error
      }
    }
    return started
  }

  async #start(
    record: DurableSessionRecord,
    lease: Lease,
    policyFingerprint: string,
  ): Promise<{ session: S; runner: DurableRunner }> {
    const { journal, recorder, hostId, clock, leaseTtlMs } = this.#deps
    let session: S | undefined
    const keeper = new LeaseKeeper(
      {
        journal,
        clock,
        ttlMs: leaseTtlMs,
        onLost: (error) => session?.destroy(leaseLost(record.key, error)),
      },
      lease,
    )
    let runner: DurableRunner | undefined
    try {
      session = await this.#deps.openSession({
        key: record.key,
        pythonHashSeed: record.pythonHashSeed,
        durable: (execute) => {
          runner = new DurableRunner({
            journal,
            recorder,
            lease: keeper,
            sessionKey: record.key,
            hostId,
            policyFingerprint,
            execute,
          })
          return runner
        },
        onClosed: () => {
          this.#open.delete(record.key)
          void keeper.release()
        },
      })
    } catch (error) {
      await keeper.release()
      throw error
    }
    if (runner === undefined)
      throw new CapsuleError('INVALID_OPTIONS', 'the session did not take its durable part')
    return { session, runner }
  }
}

/** What identifies a policy for the journal: its level and the capabilities it grants. */
export function fingerprintOf(policy: SecurityPolicy): string {
  return canonicalHash({
    level: policy.level,
    granted: policy
      .granted()
      .map((capability) => capability.spec.id)
      .sort(),
  })
}

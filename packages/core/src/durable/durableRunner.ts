import { randomBytes } from 'node:crypto'
import { CapsuleError } from '../errors.js'
import { hashCode } from '../journal/canonicalHash.js'
import type { Journal } from '../journal/journal.js'
import type { ExecutionRecord, Settlement } from '../journal/journalRecords.js'
import type { Execution, ExecutionResult } from '../session/execution.js'
import type { ExecuteOptions } from '../session/sessionTypes.js'
import type { DurableCallRecorder } from './durableCallRecorder.js'
import { ExecutionLedger, type ReplayDivergence, type UnconsumedCall } from './executionLedger.js'
import type { LeaseKeeper } from './leaseKeeper.js'

/** What a durable execution's result says about its replay (`result.durable`). */
export interface DurableExecutionFacts {
  /** The journal's execution id: `capsule.executions.wait(id)` works from any process on the journal. */
  executionId: string
  sequence: number
  /** True when this result was recorded earlier (the same idempotency key, or a finished replay). */
  recorded: boolean
  /** True when this run re-ran a cell a dead host had started: its earlier calls came from the journal. */
  recovered: boolean
  /** Set when the run made a call the journal did not expect while recorded calls were left. */
  divergence?: ReplayDivergence
  /** Recorded calls the run never made again. */
  unconsumed: UnconsumedCall[]
}

/** A durable execution's result: the usual fields plus what the journal knows. */
export type DurableExecutionResult = ExecutionResult & { durable: DurableExecutionFacts }

/** Options of {@link DurableRunner.run}: an execution's options, with its idempotency key. */
export type DurableRunOptions = ExecuteOptions

/** Called with the worker's execution once the journal has recorded it (for streaming its events). */
export type OnExecution = (execution: Execution | undefined) => void

/** What a runner needs: the session's journal side and a way to run a cell in its worker. */
export interface DurableRunnerDeps {
  journal: Journal
  recorder: DurableCallRecorder
  lease: LeaseKeeper
  sessionKey: string
  hostId: string
  policyFingerprint: string
  /** Starts `code` in the session's worker (in order with everything else) and returns its execution. */
  execute(code: string, options: ExecuteOptions, streaming: boolean): Execution
}

/**
 * Runs the cells of one durable session through the journal: each is an execution record before it runs,
 * its calls are journaled by the {@link DurableCallRecorder}, and its result is recorded before the caller
 * sees it. The same runner replays a session's history after a crash (see `recovery.ts`).
 */
export class DurableRunner {
  readonly #deps: DurableRunnerDeps
  /** The sequence of the last execution this runner ran or replayed: what a checkpoint includes. */
  #lastSequence = 0

  constructor(deps: DurableRunnerDeps) {
    this.#deps = deps
  }

  get sessionKey(): string {
    return this.#deps.sessionKey
  }

  /** Stores a sealed checkpoint of the session in the journal; returns its id. */
  async storeCheckpoint(blob: Uint8Array): Promise<string> {
    const id = `cp_${randomBytes(12).toString('hex')}`
    await this.#deps.journal.putCheckpoint(this.#deps.lease.token, { id, sequence: this.#lastSequence, blob })
    return id
  }

  /** Journals `code` as the session's next execution and runs it (or returns what was recorded). */
  async run(
    code: string,
    options: DurableRunOptions = {},
    onExecution?: OnExecution,
  ): Promise<DurableExecutionResult> {
    const { journal, sessionKey, policyFingerprint, hostId } = this.#deps
    const { record, created } = await journal.createExecution({
      sessionKey,
      code,
      policyFingerprint,
      idempotencyKey: options.idempotencyKey,
      submittedBy: hostId,
    })
    if (!created && record.codeHash !== hashCode(code)) {
      throw new CapsuleError('CONFLICT', 'this idempotency key was used for other code in this session', {
        details: { idempotencyKey: options.idempotencyKey, executionId: record.id },
      })
    }
    if (record.state !== 'pending') {
      onExecution?.(undefined)
      return recordedResult(record)
    }
    if (!created && record.attempts > 0) {
      onExecution?.(undefined)
      return recordedResult(await journal.waitExecution(record.id))
    }
    const { idempotencyKey: _key, ...executeOptions } = options
    return this.drive(record, { recovered: false }, executeOptions, onExecution)
  }

  /**
   * Runs a pending execution to its end under the lease: calls the journal holds are answered from it,
   * calls in flight at a crash are in doubt, new calls run; the result is recorded.
   */
  async drive(
    record: ExecutionRecord,
    how: { recovered: boolean },
    options: ExecuteOptions = {},
    onExecution?: OnExecution,
  ): Promise<DurableExecutionResult> {
    const { journal, lease } = this.#deps
    let ledger: ExecutionLedger
    try {
      await journal.startExecution(lease.token, record.id)
      const recorded = await journal.listCalls(record.id)
      ledger = new ExecutionLedger(record.id, lease.token, recorded)
    } catch (error) {
      onExecution?.(undefined)
      throw error
    }
    const result = await this.#runIn(ledger, record.code, options, onExecution)
    const facts: DurableExecutionFacts = {
      executionId: record.id,
      sequence: record.sequence,
      recorded: false,
      recovered: how.recovered,
      unconsumed: ledger.unconsumed(),
      ...(ledger.divergence ? { divergence: ledger.divergence } : {}),
    }
    const durable: DurableExecutionResult = { ...result, durable: facts }
    this.#lastSequence = Math.max(this.#lastSequence, record.sequence)
    await journal.settleExecution(lease.token, record.id, settlementOfResult(durable))
    return durable
  }

  /**
   * Runs a finished execution again to rebuild the namespace: every call is answered from the journal,
   * output is dropped, and a call the journal does not hold fails REPLAY_DIVERGED (read-only and
   * idempotent ones run). Returns how the replay went.
   */
  async replay(
    record: ExecutionRecord,
  ): Promise<{ divergence?: ReplayDivergence; unconsumed: UnconsumedCall[] }> {
    const recorded = await this.#deps.journal.listCalls(record.id)
    const ledger = new ExecutionLedger(record.id, this.#deps.lease.token, recorded, { sealed: true })
    await this.#runIn(ledger, record.code, {})
    this.#lastSequence = Math.max(this.#lastSequence, record.sequence)
    return {
      ...(ledger.divergence ? { divergence: ledger.divergence } : {}),
      unconsumed: ledger.unconsumed(),
    }
  }

  async #runIn(
    ledger: ExecutionLedger,
    code: string,
    options: ExecuteOptions,
    onExecution?: OnExecution,
  ): Promise<ExecutionResult> {
    let execution: Execution
    try {
      execution = this.#deps.execute(code, options, onExecution !== undefined)
    } catch (error) {
      onExecution?.(undefined)
      throw error
    }
    this.#deps.recorder.bind(execution, ledger)
    onExecution?.(execution)
    const result = await execution.result
    if (ledger.failure !== undefined) {
      throw new CapsuleError('JOURNAL_UNAVAILABLE', 'the journal failed during a durable execution', {
        cause: ledger.failure,
      })
    }
    return result
  }
}

/** The caller's view of an execution the journal already holds settled. */
export function recordedResult(record: ExecutionRecord): DurableExecutionResult {
  const stored = (record.state === 'resolved' ? record.value : record.error) as
    | DurableExecutionResult
    | undefined
  if (stored === undefined || stored === null || typeof stored !== 'object' || !('status' in stored)) {
    throw new CapsuleError('JOURNAL_CORRUPT', `execution ${record.id} was settled without a result`, {
      details: { executionId: record.id, state: record.state },
    })
  }
  return { ...stored, durable: { ...stored.durable, executionId: record.id, recorded: true } }
}

/** How a result is journaled: `ok` resolves; a Python error, an interrupt or a timeout rejects. */
export function settlementOfResult(result: DurableExecutionResult): Settlement {
  if (result.status === 'ok') return { state: 'resolved', value: result }
  if (result.status === 'interrupted') return { state: 'rejected_canceled', error: result }
  if (result.status === 'timeout') return { state: 'rejected_timedout', error: result }
  return { state: 'rejected', error: result }
}

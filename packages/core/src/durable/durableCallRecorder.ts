import { type CapabilityAnnotations, CapabilityError } from '@capsule/provider-sdk'
import type { CallRecorder } from '../calls/callRecorder.js'
import type { CallOutcome, PendingCall } from '../calls/pendingCall.js'
import { isCapsuleError } from '../errors.js'
import type { Journal } from '../journal/journal.js'
import type { CallRecord, Settlement } from '../journal/journalRecords.js'
import type { Execution } from '../session/execution.js'
import type { ExecutionLedger } from './executionLedger.js'
import { inDoubtDecision, inDoubtPromiseId } from './inDoubt.js'

/** What the recorder needs from its Capsule. */
export interface DurableCallRecorderDeps {
  journal: Journal
  /** The annotations of a registered capability (read-only and idempotent calls may run again). */
  annotationsOf(capability: string): CapabilityAnnotations | undefined
}

/**
 * The `record` step for durable executions. Before a call runs it computes the call's content-addressed key;
 * a key the journal holds settled is answered from the journal (the handler never runs again); a key held
 * pending was in flight when a host died — in doubt: read-only and idempotent capabilities run again with
 * the same `ctx.idempotencyKey`, anything else waits for a person's decision (a HITL promise of kind
 * `in_doubt`). A new key is written pending before the handler starts and settled before Python hears the
 * outcome. When the journal cannot be written the call fails closed: nothing runs unrecorded.
 *
 * Calls outside a durable execution (non-durable sessions, background threads) pass through untouched.
 */
export class DurableCallRecorder implements CallRecorder {
  readonly #deps: DurableCallRecorderDeps
  readonly #ledgers = new WeakMap<Execution, ExecutionLedger>()
  readonly #keys = new WeakMap<PendingCall, string>()

  constructor(deps: DurableCallRecorderDeps) {
    this.#deps = deps
  }

  /** Journals the calls of `execution` in `ledger` from now on. */
  bind(execution: Execution, ledger: ExecutionLedger): void {
    this.#ledgers.set(execution, ledger)
  }

  /** The ledger of `execution`, once bound. */
  ledgerOf(execution: Execution): ExecutionLedger | undefined {
    return this.#ledgers.get(execution)
  }

  beforeRun(call: PendingCall): CallOutcome | undefined | Promise<CallOutcome | undefined> {
    const ledger = call.execution ? this.#ledgers.get(call.execution) : undefined
    if (ledger === undefined) return undefined
    if (ledger.failure !== undefined) return unavailable(ledger.failure)
    let identity: ReturnType<ExecutionLedger['keyOf']>
    try {
      identity = ledger.keyOf(call.capability, call.args)
    } catch (error) {
      return { ok: false, code: 'INVALID_ARGUMENT', message: describe(error) }
    }
    const { key, argsHash, ordinal } = identity
    call.idempotencyKey = `${ledger.executionId}/${key}`
    const recorded = ledger.take(key)
    if (recorded !== undefined && recorded.state !== 'pending') return outcomeOf(recorded)
    const rerunnable = this.#rerunnable(call.capability)
    if (recorded !== undefined) {
      this.#keys.set(call, key)
      return rerunnable ? undefined : this.#awaitDecision(call, ledger, recorded)
    }
    if (ledger.replaying && !rerunnable) {
      const expected = ledger.firstUnconsumed()
      ledger.divergence ??= {
        recorded: expected
          ? { capability: expected.capability, argsHash: expected.argsHash, ordinal: expected.ordinal }
          : null,
        attempted: { capability: call.capability, argsHash, ordinal },
      }
      const recordedText = expected
        ? `${expected.capability} (arguments ${short(expected.argsHash)})`
        : 'no further call'
      return {
        ok: false,
        code: 'REPLAY_DIVERGED',
        message: `replay diverged: the journal recorded ${recordedText} where the cell now calls ${call.capability} (arguments ${short(argsHash)})`,
      }
    }
    this.#keys.set(call, key)
    return this.#deps.journal
      .beginCall(ledger.lease, {
        executionId: ledger.executionId,
        capability: call.capability,
        argsHash,
        ordinal,
      })
      .then(
        () => undefined,
        (error) => this.#failed(ledger, error),
      )
  }

  afterSettle(call: PendingCall, outcome: CallOutcome): undefined | Promise<CallOutcome | undefined> {
    const key = this.#keys.get(call)
    const ledger = call.execution ? this.#ledgers.get(call.execution) : undefined
    if (key === undefined || ledger === undefined) return undefined
    this.#keys.delete(call)
    return this.#deps.journal.settleCall(ledger.lease, ledger.executionId, key, settlementOf(outcome)).then(
      () => undefined,
      (error) => this.#failed(ledger, error),
    )
  }

  /**
   * An `input()` of a durable execution as a journal promise of kind `input`, so any process on the journal
   * can answer it (`capsule.promises.resolve(id, text)`). Its id comes from the call's key, so after a
   * crash the same question finds the same promise — and its answer, if one was given. Undefined for calls
   * outside durable executions.
   */
  journalInput(call: PendingCall): Promise<string> | undefined {
    const ledger = call.execution ? this.#ledgers.get(call.execution) : undefined
    const ask = call.input
    if (ledger === undefined || ask === undefined || call.idempotencyKey === undefined) return undefined
    const journal = this.#deps.journal
    const id = inputPromiseId(call.idempotencyKey)
    return journal
      .createPromise(ledger.lease, {
        id,
        kind: 'input',
        executionId: ledger.executionId,
        payload: { prompt: ask.prompt, password: ask.password },
      })
      .then(({ record }) =>
        record.state === 'pending' ? journal.waitPromise(id, { signal: call.signal }) : record,
      )
      .then((record) => {
        if (record.state === 'resolved' && typeof record.value === 'string') return record.value
        const error = record.error as { message?: unknown } | undefined
        throw new CapabilityError(
          'CANCELLED',
          typeof error?.message === 'string' ? error.message : 'the input was settled without an answer',
        )
      })
  }

  /** A durable `input()` was answered here (or ended): its journal promise says so, for every process. */
  journalInputSettled(call: PendingCall): void {
    if (call.idempotencyKey === undefined || call.execution === null) return
    if (!this.#ledgers.has(call.execution)) return
    const settlement = call.settlement
    if (settlement === undefined) return
    const id = inputPromiseId(call.idempotencyKey)
    const outcome: Settlement =
      'value' in settlement && typeof settlement.value === 'string'
        ? { state: 'resolved', value: settlement.value }
        : { state: 'rejected_canceled', error: { message: 'the input ended unanswered' } }
    this.#deps.journal.settlePromise(id, outcome).catch(() => undefined)
  }

  #rerunnable(capability: string): boolean {
    const annotations = this.#deps.annotationsOf(capability)
    return annotations?.readOnly === true || annotations?.idempotent === true
  }

  // A call in flight when its host died: a person (or the host) decides what it did.
  async #awaitDecision(
    call: PendingCall,
    ledger: ExecutionLedger,
    recorded: CallRecord,
  ): Promise<CallOutcome | undefined> {
    const journal = this.#deps.journal
    const id = inDoubtPromiseId(ledger.executionId, recorded.key)
    try {
      await journal.createPromise(ledger.lease, {
        id,
        kind: 'in_doubt',
        executionId: ledger.executionId,
        payload: {
          capability: recorded.capability,
          argsHash: recorded.argsHash,
          ordinal: recorded.ordinal,
          callKey: recorded.key,
          idempotencyKey: call.idempotencyKey,
        },
      })
      const promise = await journal.waitPromise(id, { signal: call.signal })
      const decision = inDoubtDecision(promise)
      if (decision.kind === 'retry') return undefined
      this.#keys.delete(call)
      await journal.settleCall(ledger.lease, ledger.executionId, recorded.key, settlementOf(decision.outcome))
      return decision.outcome
    } catch (error) {
      if (call.settled) return undefined
      return this.#failed(ledger, error)
    }
  }

  #failed(ledger: ExecutionLedger, error: unknown): CallOutcome {
    ledger.failure ??= error
    return unavailable(error)
  }
}

/** What Python sees for a call answered from the journal. */
export function outcomeOf(record: CallRecord): CallOutcome {
  if (record.state === 'resolved') return { ok: true, value: record.value }
  const error = record.error as { code?: unknown; message?: unknown } | undefined
  return {
    ok: false,
    code: (typeof error?.code === 'string' ? error.code : 'INTERNAL') as Extract<
      CallOutcome,
      { ok: false }
    >['code'],
    message: typeof error?.message === 'string' ? error.message : 'the recorded call failed',
  }
}

/** How a call's outcome is journaled. */
export function settlementOf(outcome: CallOutcome): Settlement {
  if (outcome.ok) return { state: 'resolved', value: outcome.value }
  const error = { code: outcome.code, message: outcome.message }
  if (outcome.code === 'CANCELLED') return { state: 'rejected_canceled', error }
  if (outcome.code === 'TIMEOUT') return { state: 'rejected_timedout', error }
  return { state: 'rejected', error }
}

function unavailable(error: unknown): CallOutcome {
  const reason = isCapsuleError(error, 'LEASE_LOST')
    ? 'another host took this durable session over'
    : `the journal is unavailable (${describe(error)})`
  return { ok: false, code: 'UNAVAILABLE', message: `${reason}, so the call was not run` }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

/** The journal id of a durable `input()`'s promise. */
export function inputPromiseId(idempotencyKey: string): string {
  return `input:${idempotencyKey}`
}

function short(hash: string): string {
  return hash.slice(0, 12)
}

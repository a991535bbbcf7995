import { type CapsuleError, isCapsuleError } from '../errors.js'
import type { Journal } from '../journal/journal.js'
import type { DurableSessionRecord, ExecutionRecord, Lease } from '../journal/journalRecords.js'
import type { DurableExecutionResult, DurableRunner } from './durableRunner.js'
import type { ReplayDivergence } from './executionLedger.js'

/** What {@link recoverSessions} needs from its Capsule. */
export interface RecoveryDeps {
  journal: Journal
  hostId: string
  leaseTtlMs: number
  /**
   * Opens the durable session under a lease just claimed: a fresh worker with the session's hash seed,
   * restored from `checkpoint` when one is given. Returns its runner.
   */
  openSession(record: DurableSessionRecord, lease: Lease): Promise<DurableRunner>
}

/** How one session's recovery went. */
export interface RecoveredSession {
  sessionKey: string
  /** Finished executions run again (calls answered from the journal, output dropped) to rebuild the namespace. */
  replayed: number
  /** Replays that did not follow the journal. */
  divergences: { executionId: string; divergence: ReplayDivergence }[]
  /** The pending executions, run to their end and recorded. */
  completed: DurableExecutionResult[]
  /** Set when the session could not be recovered (its executions stay pending for a later try). */
  error?: CapsuleError
}

/** What `capsule.recover()` returns. */
export interface RecoveryReport {
  sessions: RecoveredSession[]
  /** Sessions with pending work that another live host holds: left to it. */
  skipped: string[]
}

/**
 * Claims every session with pending executions that this host may run (its own, nobody's, or one whose
 * lease lapsed), rebuilds each in a fresh worker by replaying its finished executions from the journal,
 * then runs the pending ones to their end. A session another host holds is skipped; a claim is a
 * compare-and-swap on the session's epoch, so two recovering hosts never both win.
 */
export async function recoverSessions(deps: RecoveryDeps): Promise<RecoveryReport> {
  const { journal, hostId } = deps
  const claimable = await journal.listClaimable(hostId)
  const keys = [...new Set(claimable.map((execution) => execution.sessionKey))]
  const report: RecoveryReport = { sessions: [], skipped: [] }
  for (const sessionKey of keys) {
    const lease = await journal.claimLease({ sessionKey, owner: hostId, ttlMs: deps.leaseTtlMs })
    if (lease === null) {
      report.skipped.push(sessionKey)
      continue
    }
    report.sessions.push(await recoverOne(deps, sessionKey, lease))
  }
  return report
}

async function recoverOne(deps: RecoveryDeps, sessionKey: string, lease: Lease): Promise<RecoveredSession> {
  try {
    const record = await deps.journal.getSession(sessionKey)
    if (record === undefined) return { sessionKey, replayed: 0, divergences: [], completed: [] }
    const runner = await deps.openSession(record, lease)
    return await rebuildSession(deps.journal, runner)
  } catch (error) {
    if (!isCapsuleError(error)) throw error
    return { sessionKey, replayed: 0, divergences: [], completed: [], error }
  }
}

/**
 * Brings a freshly started durable session up to its journal: replays its finished executions (calls
 * answered from the journal, output dropped) to rebuild the namespace, then runs its pending executions to
 * their end. What a host does when it takes a session up again, after a crash or a restart.
 */
export async function rebuildSession(journal: Journal, runner: DurableRunner): Promise<RecoveredSession> {
  const sessionKey = runner.sessionKey
  const outcome: RecoveredSession = { sessionKey, replayed: 0, divergences: [], completed: [] }
  const executions = await journal.listExecutions(sessionKey)
  // In sequence order, one pass: a cell always runs on the namespace the cells before it left.
  for (const execution of executions) {
    if (execution.state === 'pending') {
      outcome.completed.push(await runner.drive(execution, { recovered: execution.attempts > 0 }))
      continue
    }
    if (!replayable(execution)) continue
    const replay = await runner.replay(execution)
    outcome.replayed += 1
    if (replay.divergence)
      outcome.divergences.push({ executionId: execution.id, divergence: replay.divergence })
  }
  return outcome
}

// Every finished execution shaped the namespace, including ones that raised or were interrupted part-way
// (their replay stops where the journal's calls run out); only one that never started left nothing.
function replayable(execution: ExecutionRecord): boolean {
  return execution.attempts > 0
}

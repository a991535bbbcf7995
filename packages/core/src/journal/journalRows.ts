import type {
  CallRecord,
  CheckpointRecord,
  DurableSessionRecord,
  ExecutionRecord,
  HitlPromiseRecord,
  JournalState,
  Lease,
} from './journalRecords.js'
import { decodeJournalValue, decodeOutcome, parseJournalState } from './journalValue.js'

// The SQL backends share one table layout (snake_case columns, values as journal text, times as epoch ms),
// so one set of conversions turns their rows into records. Drivers differ in how numbers arrive (pg gives
// bigint columns as strings), hence Number() on every numeric column.

/** A row of a SQL journal table, as the driver returns it. For implementations. */
export type JournalRow = Record<string, unknown>

const nullableNumber = (value: unknown): number | null => (value === null ? null : Number(value))

function settledFields(row: JournalRow) {
  const state = parseJournalState(row.state)
  return {
    state,
    ...decodeOutcome(state, row.outcome as string | null),
    settledAt: nullableNumber(row.settled_at),
  }
}

/**
 * Row-to-record conversions for SQL journals whose tables follow the reference layout (see the SQLite and
 * PostgreSQL schemas). For implementations.
 */
export const journalRows = {
  /** A `sessions` row. */
  session(row: JournalRow): DurableSessionRecord {
    return {
      key: String(row.key),
      pythonHashSeed: Number(row.python_hash_seed),
      policyFingerprint: String(row.policy_fingerprint),
      owner: row.owner as string | null,
      leaseExpiresAt: nullableNumber(row.lease_expires_at),
      epoch: Number(row.epoch),
      lastSequence: Number(row.last_sequence),
      createdAt: Number(row.created_at),
    }
  },

  /** The lease a `sessions` row holds (read right after claiming or renewing it). */
  lease(row: JournalRow): Lease {
    return {
      sessionKey: String(row.key),
      owner: String(row.owner),
      epoch: Number(row.epoch),
      expiresAt: Number(row.lease_expires_at),
    }
  },

  /** An `executions` row; its code column holds the source as JSON text. */
  execution(row: JournalRow): ExecutionRecord {
    return {
      id: String(row.id),
      sessionKey: String(row.session_key),
      sequence: Number(row.sequence),
      code: decodeJournalValue(String(row.code)) as string,
      codeHash: String(row.code_hash),
      policyFingerprint: String(row.policy_fingerprint),
      idempotencyKey: row.idempotency_key as string | null,
      submittedBy: row.submitted_by as string | null,
      owner: row.owner as string | null,
      attempts: Number(row.attempts),
      createdAt: Number(row.created_at),
      ...settledFields(row),
    }
  },

  /** A `calls` row. */
  call(row: JournalRow): CallRecord {
    return {
      executionId: String(row.execution_id),
      key: String(row.key),
      capability: String(row.capability),
      argsHash: String(row.args_hash),
      ordinal: Number(row.ordinal),
      createdAt: Number(row.created_at),
      ...settledFields(row),
    }
  },

  /** A `promises` row. */
  promise(row: JournalRow): HitlPromiseRecord {
    return {
      id: String(row.id),
      kind: row.kind === 'in_doubt' ? 'in_doubt' : 'input',
      sessionKey: String(row.session_key),
      executionId: String(row.execution_id),
      payload: decodeJournalValue(String(row.payload)),
      createdAt: Number(row.created_at),
      ...settledFields(row),
    }
  },

  /** A `checkpoints` row; the blob is copied, so the record never aliases the driver's buffer. */
  checkpoint(row: JournalRow): CheckpointRecord {
    const blob = row.blob as Uint8Array
    return {
      id: String(row.id),
      sessionKey: String(row.session_key),
      sequence: Number(row.sequence),
      blob: new Uint8Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength)),
      createdAt: Number(row.created_at),
    }
  },

  /** What a settle compares a row's stored outcome with (see checkResettle). */
  storedOutcome(row: JournalRow): { state: JournalState; outcome: string | null } {
    return { state: parseJournalState(row.state), outcome: row.outcome as string | null }
  },
}

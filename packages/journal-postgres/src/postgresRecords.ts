import type {
  CallRecord,
  CheckpointRecord,
  DurableSessionRecord,
  ExecutionRecord,
  HitlPromiseRecord,
  Lease,
} from '@capsule/core'
import { decodeJournalValue, decodeOutcome, parseJournalState } from '@capsule/core/journal'

/** A row as pg returns it (bigint columns arrive as strings). */
export type Row = Record<string, unknown>

const nullableNumber = (value: unknown): number | null => (value === null ? null : Number(value))

export function sessionRecord(row: Row): DurableSessionRecord {
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
}

export function leaseOf(row: Row): Lease {
  return {
    sessionKey: String(row.key),
    owner: String(row.owner),
    epoch: Number(row.epoch),
    expiresAt: Number(row.lease_expires_at),
  }
}

function outcomeOf(row: Row) {
  const state = parseJournalState(row.state)
  return {
    state,
    ...decodeOutcome(state, row.outcome as string | null),
    settledAt: nullableNumber(row.settled_at),
  }
}

export function executionRecord(row: Row): ExecutionRecord {
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
    ...outcomeOf(row),
  }
}

export function callRecord(row: Row): CallRecord {
  return {
    executionId: String(row.execution_id),
    key: String(row.key),
    capability: String(row.capability),
    argsHash: String(row.args_hash),
    ordinal: Number(row.ordinal),
    createdAt: Number(row.created_at),
    ...outcomeOf(row),
  }
}

export function promiseRecord(row: Row): HitlPromiseRecord {
  return {
    id: String(row.id),
    kind: row.kind === 'in_doubt' ? 'in_doubt' : 'input',
    sessionKey: String(row.session_key),
    executionId: String(row.execution_id),
    payload: decodeJournalValue(String(row.payload)),
    createdAt: Number(row.created_at),
    ...outcomeOf(row),
  }
}

export function checkpointRecord(row: Row): CheckpointRecord {
  const blob = row.blob as Buffer
  return {
    id: String(row.id),
    sessionKey: String(row.session_key),
    sequence: Number(row.sequence),
    blob: new Uint8Array(blob.buffer.slice(blob.byteOffset, blob.byteOffset + blob.byteLength)),
    createdAt: Number(row.created_at),
  }
}

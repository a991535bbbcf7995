import { z } from 'zod'
import { CapsuleError } from '../errors.js'
import type {
  CallInit,
  CheckpointInit,
  ExecutionInit,
  HitlPromiseFilter,
  HitlPromiseInit,
  JournalWaitOptions,
  LeaseClaim,
  SessionInit,
} from './journal.js'
import { JOURNAL_STATES, type LeaseToken } from './journalRecords.js'

/** The longest key, id, owner or capability id a journal accepts, in UTF-16 code units. */
export const MAX_JOURNAL_KEY_LENGTH = 1024

const NUL_OR_LONE_SURROGATE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

// Keys travel as SQL text: PostgreSQL refuses NUL and UTF-8 cannot carry a lone surrogate, so a key that
// could not read back exactly is refused up front, on every backend alike.
const text = z
  .string()
  .max(MAX_JOURNAL_KEY_LENGTH)
  .refine((value) => !NUL_OR_LONE_SURROGATE.test(value), 'must be well-formed Unicode without NUL')
const key = text.refine((value) => value.length > 0, 'must not be empty')
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const ttlMs = z
  .number()
  .int()
  .min(1)
  .max(2 ** 31 - 1)
const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 hex digest')

const sessionInit = z.strictObject({
  key,
  pythonHashSeed: z.number().int().min(0).max(4294967295),
  policyFingerprint: text,
})
const leaseClaim = z.strictObject({ sessionKey: key, owner: key, ttlMs })
const leaseToken = z.object({ sessionKey: key, owner: key, epoch: count })
const executionInit = z.strictObject({
  sessionKey: key,
  code: z.string(),
  policyFingerprint: text,
  idempotencyKey: key.optional(),
  submittedBy: key.optional(),
})
const callInit = z.strictObject({
  executionId: key,
  capability: key.refine((value) => !value.includes('/'), 'must not contain "/"'),
  argsHash: hex64,
  ordinal: count,
})
const promiseInit = z.strictObject({
  id: key,
  kind: z.enum(['input', 'in_doubt']),
  executionId: key,
  payload: z.unknown(),
})
const promiseFilter = z.strictObject({
  kind: z.enum(['input', 'in_doubt']).optional(),
  state: z.enum(JOURNAL_STATES).optional(),
  sessionKey: key.optional(),
  executionId: key.optional(),
})
const checkpointInit = z.strictObject({ id: key, sequence: count, blob: z.instanceof(Uint8Array) })
const waitOptions = z.object({
  signal: z.instanceof(AbortSignal).optional(),
  timeoutMs: z.number().min(0).optional(),
})
const limit = z
  .number()
  .int()
  .min(1)
  .max(2 ** 31 - 1)

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const where = issue && issue.path.length > 0 ? `.${issue.path.join('.')}` : ''
  throw new CapsuleError('INVALID_ARGUMENT', `${what}${where}: ${issue?.message ?? 'invalid'}`)
}

/**
 * The argument checks every journal runs before touching storage, so all backends refuse the same input
 * with the same INVALID_ARGUMENT. For journal implementations.
 */
export const journalInput = {
  sessionInit: (value: unknown): SessionInit => parse(sessionInit, value, 'session'),
  leaseClaim: (value: unknown): LeaseClaim => parse(leaseClaim, value, 'lease claim'),
  leaseToken: (value: unknown): LeaseToken => parse(leaseToken, value, 'lease'),
  ttlMs: (value: unknown): number => parse(ttlMs, value, 'ttlMs'),
  executionInit: (value: unknown): ExecutionInit => parse(executionInit, value, 'execution'),
  callInit: (value: unknown): CallInit => parse(callInit, value, 'call'),
  promiseInit: (value: unknown): HitlPromiseInit => parse(promiseInit, value, 'promise'),
  promiseFilter: (value: unknown): HitlPromiseFilter => parse(promiseFilter, value ?? {}, 'promise filter'),
  checkpointInit: (value: unknown): CheckpointInit => parse(checkpointInit, value, 'checkpoint'),
  waitOptions: (value: unknown): JournalWaitOptions => parse(waitOptions, value ?? {}, 'wait options'),
  limit: (value: unknown): number => parse(limit, value, 'limit'),
  /** A record id or key (non-empty, at most {@link MAX_JOURNAL_KEY_LENGTH}). */
  key: (value: unknown, what: string): string => parse(key, value, what),
}

/** What a journal requirement needs from the fixture beyond `journal` and `cleanup`. */
export type JournalRequirementNeed = 'connect' | 'reopen' | 'newer-schema'

/** One requirement of the journal contract: a stable id and the sentence a journal must make true. */
export interface JournalRequirement {
  readonly id: string
  readonly sentence: string
  /** When set, the requirement is skipped (with the reason) for a fixture that lacks this. */
  readonly needs?: JournalRequirementNeed
}

/** The manifest of the journal contract. Ids never change meaning; new requirements get new ids. */
export const JOURNAL_REQUIREMENTS = [
  {
    id: 'journal.open',
    sentence: 'open() reports the backend and an integer schema version ≥ 1, and may be called again.',
  },
  {
    id: 'journal.close',
    sentence:
      'close() is idempotent; afterwards every operation fails JOURNAL_UNAVAILABLE, and a wait pending at close rejects with it.',
  },
  {
    id: 'journal.invalid-input',
    sentence:
      'Malformed arguments (empty keys, an out-of-range hash seed or ttl, a bad argument hash, a pending or unknown settlement state, unknown option keys) fail INVALID_ARGUMENT and write nothing.',
  },
  {
    id: 'session.create-or-get',
    sentence:
      'ensureSession creates a session at epoch 0 with no owner, and again returns it as first created (created: false, the first hash seed kept).',
  },
  {
    id: 'lease.claim',
    sentence:
      'claimLease grants a free session with epoch + 1 and an expiry ttl ahead, returns null while another host holds a live lease, lets the same host claim again (epoch + 1), and fails UNKNOWN_RECORD for an unknown session.',
  },
  {
    id: 'lease.expiry',
    sentence: 'Once a lease lapses, another host claims it and the epoch grows.',
  },
  {
    id: 'lease.renew-release',
    sentence:
      'renewLease moves the expiry forward with the same epoch; releaseLease frees the session for another host at once; both fail LEASE_LOST for a stale token.',
  },
  {
    id: 'fencing.stale-epoch',
    sentence:
      'After a takeover, every write carrying the old epoch (start, settle, begin and settle a call, create a promise, put a checkpoint, renew, release) fails LEASE_LOST and changes nothing.',
  },
  {
    id: 'execution.sequence',
    sentence:
      'createExecution needs no lease, assigns sequences 1, 2, 3 in submission order, stores the code with its sha256 codeHash, and listExecutions returns them in order.',
  },
  {
    id: 'execution.idempotency',
    sentence:
      'The same idempotency key with the same code returns the recorded execution (created: false, no new sequence); with other code it is a CONFLICT; keys are scoped to the session.',
  },
  {
    id: 'execution.lifecycle',
    sentence:
      'startExecution sets the owner and counts attempts; only pending → final: settling again with the same outcome returns settled: false, with another is a CONFLICT; starting a final execution is a CONFLICT.',
  },
  {
    id: 'execution.claimable',
    sentence:
      "listClaimable returns pending executions whose session's lease is the caller's, nobody's or lapsed, oldest first, up to the limit — never another host's live session or a settled execution.",
  },
  {
    id: 'call.create-or-get',
    sentence:
      'beginCall records a pending call under its content-addressed key and again returns it; settleCall settles it once (same outcome again: no-op; another: CONFLICT); listCalls keeps begin order; a new call on a final execution is a CONFLICT.',
  },
  {
    id: 'call.states',
    sentence:
      'A call settles as resolved, rejected, rejected_canceled or rejected_timedout, and the value or error reads back exactly.',
  },
  {
    id: 'call.other-session',
    sentence:
      "A lease of one session cannot write another session's execution, call or promise (INVALID_ARGUMENT), and unknown records fail UNKNOWN_RECORD.",
  },
  {
    id: 'promise.lifecycle',
    sentence:
      'createPromise is create-or-get (other contents under the same id: CONFLICT); listPromises filters by kind, state, session and execution; settlePromise needs no lease and settles once.',
  },
  {
    id: 'wait.execution',
    sentence:
      'waitExecution resolves with the final record when it settles (at once when already final), and fails UNKNOWN_RECORD, TIMEOUT or CANCELLED as asked.',
  },
  {
    id: 'wait.promise',
    sentence:
      'waitPromise resolves with the final record when it settles (at once when already final), and fails UNKNOWN_RECORD, TIMEOUT or CANCELLED as asked.',
  },
  {
    id: 'wait.other-instance',
    needs: 'connect',
    sentence: 'A wait on one instance wakes when another instance on the same storage settles the record.',
  },
  {
    id: 'lease.concurrent-claim',
    needs: 'connect',
    sentence: 'When several instances claim the same free session at once, exactly one gets the lease.',
  },
  {
    id: 'checkpoint.store',
    sentence:
      'putCheckpoint stores the bytes exactly and is create-or-get (other bytes under the same id: CONFLICT); latestCheckpoint returns the highest sequence.',
  },
  {
    id: 'values.large',
    sentence: 'Payloads of several MiB (bytes and text) are stored and read back exactly.',
  },
  {
    id: 'values.hostile',
    sentence:
      'Hostile values read back exactly (-0, NaN, ±Infinity, big bigints, Map, bytes, $-keys, __proto__, NUL, lone surrogates, deep nesting, key order); values a frame cannot hold fail INVALID_ARGUMENT and write nothing.',
  },
  {
    id: 'durable.reopen',
    needs: 'reopen',
    sentence:
      'Sessions, leases, executions, calls, promises and checkpoints written before close are all there after reopening the storage.',
  },
  {
    id: 'schema.newer-refused',
    needs: 'newer-schema',
    sentence:
      'Storage written by a newer schema version is refused with JOURNAL_VERSION, before anything is written.',
  },
] as const satisfies readonly JournalRequirement[]

/** The id of one journal requirement. */
export type JournalRequirementId = (typeof JOURNAL_REQUIREMENTS)[number]['id']

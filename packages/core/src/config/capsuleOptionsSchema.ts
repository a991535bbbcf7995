// The options of a Capsule, written once. The CapsuleOptions and SessionOptions types are inferred from
// these schemas, the config-file schema picks its keys from them (capsuleConfig.ts), and the options
// table of docs/host-guide.md is generated from the TSDoc below (scripts/options-table.mjs): edit a
// field here and all three follow. `@defaultValue` is what the table shows as the default.
import type { CapabilityLogger, ProviderDefinition } from '@capsule/provider-sdk'
import { SECURITY_LEVELS } from '@capsule/provider-sdk'
import type { SandboxMount, SandboxUserOptions } from '@capsule/sandbox'
import { z } from 'zod'
import type { AuditEntry, AuditSink } from '../audit/auditLog.js'
import type { Journal } from '../journal/journal.js'
import type { PromiseStore } from '../promises/promiseStore.js'
import { sandboxUserSchema } from '../sandbox/sandboxUserSchema.js'
import { type Limits, limitsSchema, sessionLimitsSchema } from '../session/limits.js'
import type { InputHandler } from '../session/session.js'
import { DEFAULT_POOL_OPTIONS, type PoolOptions } from '../session/sessionPool.js'
import type { Clock } from '../util/clock.js'

/** The `sandbox` option: bubblewrap required (`bwrap`), never (`none`), or below `unrestricted` (`auto`). */
export const sandboxModeSchema = z.enum(['auto', 'bwrap', 'none'])

/** Whether the worker runs inside bubblewrap: required, never, or below `unrestricted` (default). */
export type SandboxMode = z.infer<typeof sandboxModeSchema>

const isFunction = (value: unknown) => typeof value === 'function'

/** A value the host builds in code (a store, a clock, a logger): checked where it is used, not here. */
function hostObject<T>() {
  return z.custom<T>(() => true)
}

function callback<T>() {
  return z.custom<T>(isFunction, { error: 'expected a function' })
}

// Typed as the documented interfaces, so the inferred options keep their per-field TSDoc.
const mountsSchema: z.ZodType<SandboxMount[], SandboxMount[]> = z.array(
  z.strictObject({ source: z.string().min(1), target: z.string().min(1).optional(), write: z.boolean() }),
)
const sandboxUserOption: z.ZodType<SandboxUserOptions, SandboxUserOptions> = sandboxUserSchema
const limitsOption: z.ZodType<Partial<Limits>, Partial<Limits>> = limitsSchema
const sessionLimitsOption: z.ZodType<Partial<Limits>, Partial<Limits>> = sessionLimitsSchema
/** A checkpoint as a restore takes it: the checkpoint, its sealed bytes, or its id in the journal. */
const checkpointSourceSchema = z.custom<Uint8Array | string | { bytes: Uint8Array }>(
  (value) =>
    (typeof value === 'string' && value.length > 0) ||
    value instanceof Uint8Array ||
    (typeof value === 'object' &&
      value !== null &&
      (value as { bytes?: unknown }).bytes instanceof Uint8Array),
  { error: 'expected a checkpoint, its bytes or its id' },
)
const poolOption: z.ZodType<Partial<PoolOptions>, Partial<PoolOptions>> = z
  .strictObject({
    min: z.number().int().min(0).max(256),
    max: z.number().int().min(1).max(4096),
    idleTimeoutMs: z.number().int().min(0),
    maxExecutionsPerWorker: z.number().int().min(0),
    warmFrom: checkpointSourceSchema,
  })
  .partial()
  .refine((pool) => (pool.min ?? DEFAULT_POOL_OPTIONS.min) <= (pool.max ?? DEFAULT_POOL_OPTIONS.max), {
    message: 'pool.min must not exceed pool.max',
  })

/** The schema of {@link CapsuleOptions}: `new Capsule(options)` parses its argument with it. */
export const capsuleOptionsSchema = z.strictObject({
  /**
   * The security level of sessions: `sandbox`, `restricted`, `standard`, `trusted`, `unrestricted`.
   * @defaultValue `'standard'`
   */
  level: z.enum(SECURITY_LEVELS).optional(),
  /**
   * Capability providers: `fsProvider(…)`, `httpProvider(…)`, `shellProvider(…)`, third-party ones.
   * (A config file names them by key instead.)
   */
  providers: z.array(hostObject<ProviderDefinition>()).optional(),
  /** Capability ids or patterns (`fs.write_file`, `http.*`, `*`) granted beyond the level. */
  allow: z.array(z.string()).optional(),
  /** Capability ids or patterns never granted; deny always wins. */
  deny: z.array(z.string()).optional(),
  /**
   * Worker isolation. `'auto'`: bubblewrap below `unrestricted`, none at `unrestricted`; `'bwrap'`: always;
   * `'none'`: never. Never falls back silently.
   * @defaultValue `'auto'`
   */
  sandbox: sandboxModeSchema.optional(),
  /**
   * Host directories bound into the sandbox for heavy data work (`{ source, target?, write }`). They are
   * outside the capability audit: Python reaches them with plain `open()`. Ignored without a sandbox.
   */
  mounts: mountsSchema.optional(),
  /**
   * The bubblewrap binary.
   * @defaultValue `bwrap` on PATH
   */
  bwrapPath: z.string().min(1).optional(),
  /**
   * Who sandboxed workers are on the host when it runs as root (ignored otherwise: they run as the host's
   * user): the unprivileged uids (`uids: { first, count }`), the shared `gid` and the lease directory
   * (`leaseDir`). Each worker gets its own uid, leased machine-wide and given back when it exits, so no
   * worker runs as root and none can signal or trace another (see docs/sandbox.md).
   * @defaultValue 65,536 uids from 1879048192
   */
  sandboxUser: sandboxUserOption.optional(),
  /**
   * Time, size and resource limits of every session; an omitted one keeps its {@link DEFAULT_LIMITS} value.
   * @defaultValue see below
   */
  limits: limitsOption.optional(),
  /**
   * The Python interpreter, probed once (version ≥ 3.9, msgpack).
   * @defaultValue `CAPSULE_PYTHON`, else `python3`
   */
  python: z.string().min(1).optional(),
  /**
   * The wire codec: `'msgpack'` when the interpreter can import it, else `'json'`; naming `'msgpack'`
   * without it is `INVALID_OPTIONS`.
   * @defaultValue `'auto'`
   */
  codec: z.enum(['auto', 'msgpack', 'json']).optional(),
  /**
   * Extra environment variables for workers. Of the host's environment only the locale, `TZ` and `TERM`
   * pass, and `PATH` is `/usr/local/bin:/usr/bin:/bin` unless set here (the host's names home directories).
   * Workers also get glibc's `MALLOC_MMAP_THRESHOLD_` (4 MiB) and `MALLOC_TRIM_THRESHOLD_` (32 MiB), so
   * large output reuses heap pages instead of faulting in fresh ones per megabyte; a value set here wins.
   */
  env: z.record(z.string(), z.string()).optional(),
  /**
   * Working directory of unsandboxed workers (a sandboxed worker starts in its private `/tmp`).
   * @defaultValue the host's
   */
  cwd: z.string().min(1).optional(),
  /**
   * Warm sessions and the cap on open ones ({@link DEFAULT_POOL_OPTIONS}); `warmFrom` keeps them restored
   * from a checkpoint (docs/checkpoints.md).
   * @defaultValue see below
   */
  pool: poolOption.optional(),
  /** Receives every audit entry. Throwing refuses the call being recorded (fail closed). */
  onAudit: callback<(entry: AuditEntry) => void>().optional(),
  /** More audit sinks besides `onAudit`: objects with `write(entry)`. */
  auditSinks: z.array(hostObject<AuditSink>()).optional(),
  /**
   * Answers `input()` when the execution's consumer does not; with neither, `input()` raises `EOFError`.
   */
  onInput: callback<InputHandler>().optional(),
  /**
   * Where the core and capability handlers log (`debug`, `info`, `warn`, `error`).
   * @defaultValue silent
   */
  logger: hostObject<CapabilityLogger>().optional(),
  /**
   * Replaces the store of pending promises.
   * @defaultValue in memory
   */
  promiseStore: hostObject<PromiseStore>().optional(),
  /**
   * Replaces time, for tests and simulations.
   * @defaultValue the system clock
   */
  clock: hostObject<Clock>().optional(),
  /**
   * Where durable sessions (`session({ key })`), their executions, capability calls, HITL promises and
   * checkpoints are recorded: `sqliteJournal()` (@capsule/journal-sqlite), `postgresJournal()`
   * (@capsule/journal-postgres) or a third party's. See docs/durability.md.
   * @defaultValue an in-memory journal (durable sessions then last as long as this process)
   */
  journal: hostObject<Journal>().optional(),
  /**
   * This host's name on the journal: the owner of the leases it holds. A restarted host with the same id
   * takes its own sessions back at once; two live Capsules on one journal need different ids.
   * @defaultValue the machine's hostname
   */
  hostId: z.string().min(1).max(200).optional(),
  /**
   * How long a durable session's lease lasts without renewal (renewed at a third of it). After a host
   * dies, another may take its sessions over once this has passed.
   * @defaultValue 30000
   */
  leaseTtlMs: z.number().int().min(100).max(86_400_000).optional(),
  /**
   * The key checkpoints are signed with (HMAC-SHA256), at least 32 bytes. Hosts that restore each
   * other's checkpoints share it; a checkpoint signed with another key is refused.
   * @defaultValue a random key per Capsule (its checkpoints restore only in it)
   */
  checkpointKey: z
    .custom<Uint8Array | string>(
      (value) =>
        typeof value === 'string'
          ? Buffer.byteLength(value) >= 32
          : value instanceof Uint8Array && value.byteLength >= 32,
      { error: 'expected a string or Uint8Array of at least 32 bytes' },
    )
    .optional(),
  /**
   * The largest sealed checkpoint, in bytes, taken or restored: a bigger `checkpoint()` fails with
   * `LIMIT_EXCEEDED` and a bigger restore is refused with `CHECKPOINT_INVALID` (`too_large`).
   * @defaultValue 1 GiB ({@link DEFAULT_MAX_CHECKPOINT_BYTES})
   */
  maxCheckpointBytes: z.number().int().min(1).optional(),
})

/**
 * Options of a Capsule. Everything is optional: docs/host-guide.md lists every option with its default,
 * and {@link DEFAULT_LIMITS} and {@link DEFAULT_POOL_OPTIONS} hold those of the limits and the pool.
 */
export interface CapsuleOptions extends z.input<typeof capsuleOptionsSchema> {}

/** The schema of {@link SessionOptions}: the options a session may narrow, with session-level limits. */
export const sessionOptionsSchema = capsuleOptionsSchema
  .pick({ level: true, allow: true, deny: true, onInput: true })
  .extend({
    /** Other limits for this session; the whole-Capsule ones (`maxCapsulePendingCallBytes`) are refused. */
    limits: sessionLimitsOption.optional(),
    /**
     * Makes the session durable under this key: its executions and calls are journaled, and opening the key
     * again (after a restart, on another host) brings its namespace back. See docs/durability.md.
     */
    key: z.string().min(1).max(512).optional(),
    /**
     * Starts the session from a checkpoint: the checkpoint, its sealed bytes, or its id in the journal. With
     * no other option it is served by the pool when a pooled worker fits (docs/checkpoints.md).
     */
    restore: checkpointSourceSchema.optional(),
  })

/** Per-session narrowing: a lower level, fewer grants, other limits. Never wider than the Capsule. */
export interface SessionOptions extends z.input<typeof sessionOptionsSchema> {}

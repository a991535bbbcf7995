import { z } from 'zod'
import { CapsuleError } from '../errors.js'
import { CODEC_NAMES } from './codec.js'

// The typed message union of docs/protocol.md. Worker-to-host messages are untrusted: each has a zod
// schema and the host parses every frame with it. Host-to-worker messages are only typed.

/** The protocol version this host speaks. */
export const PROTOCOL_VERSION = 1

const requestId = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const shortText = z.string().max(4096)

/** A Jupyter-style mime bundle: mime type → data. `text/plain` is always present in results. */
export const mimeBundleSchema = z.record(z.string().max(256), z.unknown())
/** See {@link mimeBundleSchema}. */
export type MimeBundle = Record<string, unknown>

const helloSchema = z.object({
  type: z.literal('hello'),
  protocol: z.number().int(),
  codec: z.enum(CODEC_NAMES),
  worker: z.object({
    python: shortText,
    implementation: shortText,
    executable: shortText,
    prefix: shortText,
    pid: z.number().int(),
    codecs: z.array(shortText).max(16),
    startupMs: z.number().nonnegative(),
  }),
})

const readySchema = z.object({ type: z.literal('ready'), capabilities: z.array(shortText).max(10_000) })

const streamSchema = z.object({
  type: z.literal('stream'),
  id: requestId,
  name: z.enum(['stdout', 'stderr']),
  text: z.string(),
})

const displaySchema = z.object({
  type: z.literal('display'),
  id: requestId,
  data: mimeBundleSchema,
  metadata: z.record(z.string(), z.unknown()).optional(),
})

const resultSchema = z.object({
  type: z.literal('result'),
  id: requestId,
  count: z.number().int().nonnegative(),
  value: mimeBundleSchema.nullable(),
  truncated: z.number().int().nonnegative().optional(),
})

const errorSchema = z.object({
  type: z.literal('error'),
  id: requestId,
  count: z.number().int().nonnegative(),
  ename: z.string(),
  evalue: z.string(),
  traceback: z.array(z.string()),
  truncated: z.number().int().nonnegative().optional(),
})

const callSchema = z.object({
  type: z.literal('call'),
  id: requestId,
  exec: requestId.nullable(),
  capability: z.string().max(256),
  args: z.record(z.string(), z.unknown()),
})

const callCancelSchema = z.object({ type: z.literal('call_cancel'), id: requestId })

const heartbeatSchema = z.object({ type: z.literal('heartbeat'), seq: requestId })

const lostName = z.object({ name: z.string().max(4096), reason: z.string().max(4096) })
const nameList = z.array(z.string().max(4096)).max(1_000_000)

const checkpointChunkSchema = z.object({
  type: z.literal('checkpoint_chunk'),
  id: requestId,
  data: z.instanceof(Uint8Array),
})

const checkpointDoneSchema = z.object({
  type: z.literal('checkpoint_done'),
  id: requestId,
  bytes: z.number().int().nonnegative(),
  python: shortText,
  hashSeed: shortText,
  names: z.object({ data: nameList, redefined: nameList, lost: z.array(lostName).max(1_000_000) }),
})

const snapshotFailedSchema = z.object({
  type: z.enum(['checkpoint_failed', 'restore_failed']),
  id: requestId,
  message: z.string().max(65_536),
})

const restoreDoneSchema = z.object({
  type: z.literal('restore_done'),
  id: requestId,
  report: z.object({
    restored: nameList,
    redefined: nameList,
    lost: z.array(lostName).max(1_000_000),
    missingCapabilities: nameList,
  }),
})

/** Every message a worker may send. */
export const workerMessageSchema = z.discriminatedUnion('type', [
  helloSchema,
  readySchema,
  streamSchema,
  displaySchema,
  resultSchema,
  errorSchema,
  callSchema,
  callCancelSchema,
  heartbeatSchema,
  checkpointChunkSchema,
  checkpointDoneSchema,
  snapshotFailedSchema,
  restoreDoneSchema,
])

/** A validated worker-to-host message. */
export type WorkerMessage = z.infer<typeof workerMessageSchema>
/** The worker's handshake. */
export type HelloMessage = z.infer<typeof helloSchema>
/** A capability call from Python. */
export type CallMessage = z.infer<typeof callSchema>
/** The worker's answers to `checkpoint` and `restore`. */
export type SnapshotMessage = Extract<
  WorkerMessage,
  { type: 'checkpoint_chunk' | 'checkpoint_done' | 'checkpoint_failed' | 'restore_done' | 'restore_failed' }
>

/** One Python parameter of an injected capability function. */
export interface PythonParam {
  name: string
  kind: 'positional_or_keyword' | 'keyword_only'
  required: boolean
  default?: unknown
  annotation: string
}

/** What the worker needs to build one capability stub (docs/protocol.md, CapabilitySpec). */
export interface CapabilitySpec {
  id: string
  name: string
  doc: string
  params: PythonParam[]
  returns: string
  wrap?: string
}

/** Options the worker applies for the whole session. */
export interface WorkerInitOptions {
  maxOutputBytes: number
  maxFrameBytes: number
  outputFlushMs: number
  displayMaxBytes: number
}

/** Every message a host may send. */
export type HostMessage =
  | { type: 'init'; session: string; capabilities: CapabilitySpec[]; options: WorkerInitOptions }
  | { type: 'execute'; id: number; code: string }
  | { type: 'interrupt'; id: number }
  | { type: 'call_result'; id: number; value: unknown }
  | { type: 'call_error'; id: number; code: string; message: string }
  | { type: 'heartbeat'; seq: number }
  | { type: 'checkpoint'; id: number }
  | { type: 'restore'; id: number; bytes: number }
  | { type: 'restore_chunk'; id: number; data: Uint8Array }
  | { type: 'shutdown' }

// ── the hot path, checked by hand ─────────────────────────────────────────────────────────────

// The worker-to-host messages of the hot path, checked by hand: a zod parse of every output chunk and
// every call costs more than the rest of its handling. Each check accepts a subset of what
// workerMessageSchema accepts and builds the same output (known fields only, in a fresh object); a frame
// it does not accept goes to the schema, which accepts it or says precisely what is wrong. Both are
// tested against docs/golden-frames.json.

type Decoded = Record<string, unknown>
type Check = (frame: Decoded) => WorkerMessage | undefined

const MAX_MIME_KEY = 256
const MAX_CAPABILITY_ID = 256

function isPlainMap(value: unknown): value is Decoded {
  if (typeof value !== 'object' || value === null) return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

function isRequestId(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0
}

function isMimeBundle(value: unknown): value is Record<string, unknown> {
  if (!isPlainMap(value)) return false
  for (const key in value) if (key.length > MAX_MIME_KEY) return false
  return true
}

function isStrings(value: unknown): value is string[] {
  if (!Array.isArray(value)) return false
  for (const item of value) if (typeof item !== 'string') return false
  return true
}

const HOT_CHECKS: Record<string, Check> = {
  stream: (f) =>
    isRequestId(f.id) && (f.name === 'stdout' || f.name === 'stderr') && typeof f.text === 'string'
      ? { type: 'stream', id: f.id, name: f.name, text: f.text }
      : undefined,
  call: (f) =>
    isRequestId(f.id) &&
    (f.exec === null || isRequestId(f.exec)) &&
    typeof f.capability === 'string' &&
    f.capability.length <= MAX_CAPABILITY_ID &&
    isPlainMap(f.args)
      ? { type: 'call', id: f.id, exec: f.exec as number | null, capability: f.capability, args: f.args }
      : undefined,
  result: (f) => {
    if (!isRequestId(f.id) || !isCount(f.count) || !(f.value === null || isMimeBundle(f.value)))
      return undefined
    if (f.truncated !== undefined && !isCount(f.truncated)) return undefined
    const message: WorkerMessage = { type: 'result', id: f.id, count: f.count, value: f.value }
    if (f.truncated !== undefined) message.truncated = f.truncated
    return message
  },
  error: (f) => {
    if (
      !isRequestId(f.id) ||
      !isCount(f.count) ||
      typeof f.ename !== 'string' ||
      typeof f.evalue !== 'string' ||
      !isStrings(f.traceback)
    )
      return undefined
    if (f.truncated !== undefined && !isCount(f.truncated)) return undefined
    const message: WorkerMessage = {
      type: 'error',
      id: f.id,
      count: f.count,
      ename: f.ename,
      evalue: f.evalue,
      traceback: f.traceback,
    }
    if (f.truncated !== undefined) message.truncated = f.truncated
    return message
  },
  display: (f) => {
    if (!isRequestId(f.id) || !isMimeBundle(f.data)) return undefined
    if (f.metadata !== undefined && !isPlainMap(f.metadata)) return undefined
    const message: WorkerMessage = { type: 'display', id: f.id, data: f.data }
    if (f.metadata !== undefined) message.metadata = f.metadata
    return message
  },
  call_cancel: (f) => (isRequestId(f.id) ? { type: 'call_cancel', id: f.id } : undefined),
  heartbeat: (f) => (isRequestId(f.seq) ? { type: 'heartbeat', seq: f.seq } : undefined),
}

/** The message types {@link parseHotFrame} checks by hand. */
export const HOT_MESSAGE_TYPES: readonly string[] = Object.keys(HOT_CHECKS)

/**
 * A decoded worker frame of a hot type that passes its hand check, as the schema would return it; undefined
 * for anything else (another type, or a frame the check does not accept), which then goes to the schema.
 */
export function parseHotFrame(decoded: unknown): WorkerMessage | undefined {
  if (!isPlainMap(decoded)) return undefined
  const type = decoded.type
  if (typeof type !== 'string' || !Object.hasOwn(HOT_CHECKS, type)) return undefined
  return HOT_CHECKS[type]!(decoded)
}

/**
 * Checks one decoded frame from the worker and returns it as a typed message: a hot type by its hand check
 * ({@link parseHotFrame}), anything else (or a hot frame the check does not accept) by
 * {@link workerMessageSchema}. Throws PROTOCOL_ERROR naming the type and the first issue.
 */
export function parseWorkerMessage(decoded: unknown): WorkerMessage {
  return parseHotFrame(decoded) ?? parseBySchema(decoded)
}

function parseBySchema(decoded: unknown): WorkerMessage {
  const parsed = workerMessageSchema.safeParse(decoded)
  if (parsed.success) return parsed.data
  const type =
    typeof decoded === 'object' && decoded !== null ? (decoded as { type?: unknown }).type : undefined
  const named = typeof type === 'string' ? `${JSON.stringify(type.slice(0, 64))} ` : ''
  throw new CapsuleError(
    'PROTOCOL_ERROR',
    `invalid ${named}message from the worker: ${parsed.error.issues[0]?.message ?? 'bad shape'}`,
    {
      details: {
        type: typeof type === 'string' ? type.slice(0, 64) : undefined,
        issues: parsed.error.issues.slice(0, 5),
      },
    },
  )
}

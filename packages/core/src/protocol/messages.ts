import { z } from 'zod'
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

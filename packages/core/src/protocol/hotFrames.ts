import type { WorkerMessage } from './messages.js'

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

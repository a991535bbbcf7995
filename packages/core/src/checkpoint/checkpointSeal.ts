import { createHmac, timingSafeEqual } from 'node:crypto'
import { CapsuleError } from '../errors.js'

/**
 * The sealed form of a checkpoint: what a host stores or hands out.
 *
 * `magic(8) | format(u32 BE) | headerLength(u32 BE) | header (UTF-8 JSON) | payload | HMAC-SHA256(32)`
 *
 * The header is what the host may read (interpreter, hash seed, names); the payload is a pickle made
 * by untrusted code inside the worker, which the host never unpickles: it only carries it back to a
 * worker. The MAC covers everything before it, so a checkpoint altered anywhere, or sealed with
 * another key, is refused before any byte of it reaches a worker.
 */

/** Version of the sealed layout and header; {@link openCheckpoint} refuses any other. */
export const CHECKPOINT_FORMAT = 1

/** Sealed checkpoints larger than this are refused unless the host raises `maxCheckpointBytes`. */
export const DEFAULT_MAX_CHECKPOINT_BYTES = 1024 * 1024 * 1024

const MAGIC = Buffer.from('CPSLCKPT', 'latin1')
const MAC_BYTES = 32
const FIXED_BYTES = MAGIC.length + 8
const MAX_HEADER_BYTES = 16 * 1024 * 1024

/** What a checkpoint says about itself, readable without unpickling anything. */
export interface CheckpointHeader {
  format: number
  /** ISO time the checkpoint was taken. */
  createdAt: string
  /** The worker's interpreter: `major.minor.micro/<bytecode magic>`; a restore needs the same. */
  python: string
  /** PYTHONHASHSEED of the session; a restoring worker starts with the same one. */
  hashSeed: string
  /** The durable session's key, when it had one. */
  sessionKey?: string
  /** Capability ids the session was granted when the checkpoint was taken. */
  capabilities: string[]
  /** Names saved as data, names that restore by re-running definitions, names already lost. */
  names: { data: string[]; redefined: string[]; lost: { name: string; reason: string }[] }
}

/** Why a sealed checkpoint was refused (`details.reason` of CHECKPOINT_INVALID). */
export type CheckpointRefusal = 'truncated' | 'foreign' | 'format' | 'signature' | 'too_large' | 'header'

/** A checkpoint whose signature was verified: its header, and the payload for a worker. */
export interface OpenedCheckpoint {
  header: CheckpointHeader
  payload: Uint8Array
}

/**
 * Seal `payload` with `header` under `key` (HMAC-SHA256). The payload may be given as the chunks it
 * arrived in: they are copied once, straight into the sealed buffer.
 */
export function sealCheckpoint(
  header: CheckpointHeader,
  payload: Uint8Array | readonly Uint8Array[],
  key: Uint8Array,
): Uint8Array {
  const chunks = payload instanceof Uint8Array ? [payload] : payload
  const payloadBytes = chunks.reduce((total, chunk) => total + chunk.byteLength, 0)
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8')
  const body = Buffer.allocUnsafe(FIXED_BYTES + headerBytes.length + payloadBytes + MAC_BYTES)
  MAGIC.copy(body, 0)
  body.writeUInt32BE(CHECKPOINT_FORMAT, MAGIC.length)
  body.writeUInt32BE(headerBytes.length, MAGIC.length + 4)
  headerBytes.copy(body, FIXED_BYTES)
  let at = FIXED_BYTES + headerBytes.length
  for (const chunk of chunks) {
    body.set(chunk, at)
    at += chunk.byteLength
  }
  const macAt = body.length - MAC_BYTES
  mac(key, body.subarray(0, macAt)).copy(body, macAt)
  return body
}

/**
 * Verify and open a sealed checkpoint. Throws CHECKPOINT_INVALID (`details.reason` a
 * {@link CheckpointRefusal}) for anything truncated, foreign, of another format, too large, or whose
 * MAC does not match `key`.
 */
export function openCheckpoint(
  sealed: Uint8Array,
  key: Uint8Array,
  maxBytes: number = DEFAULT_MAX_CHECKPOINT_BYTES,
): OpenedCheckpoint {
  const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength)
  if (bytes.length > maxBytes) {
    throw refuse('too_large', `the checkpoint is ${bytes.length} bytes; the limit is ${maxBytes}`)
  }
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC.subarray(0, Math.min(bytes.length, MAGIC.length)))) {
    throw refuse('foreign', 'this is not a Capsule checkpoint')
  }
  if (bytes.length < FIXED_BYTES + MAC_BYTES) throw refuse('truncated', 'the checkpoint is truncated')
  const format = bytes.readUInt32BE(MAGIC.length)
  if (format !== CHECKPOINT_FORMAT) {
    throw refuse(
      'format',
      `checkpoint format ${format} is not supported (this Capsule reads ${CHECKPOINT_FORMAT})`,
    )
  }
  const headerLength = bytes.readUInt32BE(MAGIC.length + 4)
  if (headerLength > MAX_HEADER_BYTES || FIXED_BYTES + headerLength + MAC_BYTES > bytes.length) {
    throw refuse('truncated', 'the checkpoint is truncated')
  }
  const macAt = bytes.length - MAC_BYTES
  const expected = mac(key, bytes.subarray(0, macAt))
  if (!timingSafeEqual(expected, bytes.subarray(macAt))) {
    throw refuse('signature', 'the checkpoint signature does not match this host’s checkpoint key')
  }
  let header: CheckpointHeader
  try {
    header = JSON.parse(bytes.subarray(FIXED_BYTES, FIXED_BYTES + headerLength).toString('utf8'))
  } catch (cause) {
    throw refuse('header', 'the checkpoint header is not valid JSON', cause)
  }
  if (header?.format !== CHECKPOINT_FORMAT || typeof header.python !== 'string') {
    throw refuse('header', 'the checkpoint header is incomplete')
  }
  return { header, payload: bytes.subarray(FIXED_BYTES + headerLength, macAt) }
}

function mac(key: Uint8Array, data: Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest()
}

function refuse(reason: CheckpointRefusal, message: string, cause?: unknown): CapsuleError {
  return new CapsuleError('CHECKPOINT_INVALID', message, { details: { reason }, cause })
}

// Sent ─chunks…→ Receiving ─done→ Settled;  any ─failed | worker ends→ Settled (rejected)
import { CapsuleError } from '../errors.js'
import type { HostMessage, SnapshotMessage } from '../protocol/messages.js'

/** Bytes of a restore payload per frame. */
const RESTORE_CHUNK_BYTES = 512 * 1024

/**
 * How far past its limit a checkpoint is drained (and dropped) before the worker counts as hostile: the
 * limit again, and at least this many bytes.
 */
export const MIN_DRAIN_BYTES = 64 * 1024 * 1024

/** What the worker made of its namespace: the payload to seal, and what it says about the names. */
export interface CheckpointCapture {
  /** The payload in the chunks it arrived in: sealing copies them once, so they are never concatenated. */
  payload: Uint8Array[]
  python: string
  hashSeed: string
  names: { data: string[]; redefined: string[]; lost: { name: string; reason: string }[] }
}

/** What came back from a restore, and what did not (and why). */
export interface RestoreReport {
  /** Names whose data was unpickled. */
  restored: string[]
  /** Names bound again by re-running the recorded imports, functions and classes. */
  redefined: string[]
  /** Names that did not come back, each with its reason. */
  lost: { name: string; reason: string }[]
  /** Capability ids the checkpoint referred to that this session does not grant (their names are absent). */
  missingCapabilities: string[]
}

/**
 * One `checkpoint` or `restore` exchange with a worker, between cells. The worker's answer is untrusted:
 * chunks that do not add up, or an answer to another request, end the exchange with a protocol error (and
 * the supervisor kills the worker).
 *
 * The worker is not told `maxBytes`, so a checkpoint past it is not a breach: the chunks after the limit
 * are counted and dropped, and the exchange fails LIMIT_EXCEEDED when the worker ends it, leaving the worker
 * and its namespace as they were. Only a worker that streams on past twice the limit (or the limit and
 * {@link MIN_DRAIN_BYTES}) is treated as hostile.
 */
export class SnapshotExchange<T extends CheckpointCapture | RestoreReport> {
  readonly id: number
  readonly result: Promise<T>
  readonly #kind: 'checkpoint' | 'restore'
  readonly #maxBytes: number
  readonly #payload: Uint8Array | undefined
  readonly #chunks: Uint8Array[] = []
  #received = 0
  // Set once the checkpoint passed maxBytes: what the exchange fails with when the worker ends it.
  #overflow: CapsuleError | undefined
  #settled = false
  #resolve!: (value: T) => void
  #reject!: (error: CapsuleError) => void

  private constructor(kind: 'checkpoint' | 'restore', id: number, maxBytes: number, payload?: Uint8Array) {
    this.#kind = kind
    this.id = id
    this.#maxBytes = maxBytes
    this.#payload = payload
    this.result = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    // Whoever awaits sees the error; an exchange nobody awaits any more must not be an unhandled rejection.
    this.result.catch(() => undefined)
  }

  /** Asks the worker for a checkpoint of at most `maxBytes`. */
  static checkpoint(id: number, maxBytes: number): SnapshotExchange<CheckpointCapture> {
    return new SnapshotExchange<CheckpointCapture>('checkpoint', id, maxBytes)
  }

  /** Hands the worker a (verified) payload to restore. */
  static restore(id: number, payload: Uint8Array): SnapshotExchange<RestoreReport> {
    return new SnapshotExchange<RestoreReport>('restore', id, payload.byteLength, payload)
  }

  /** The frames that start the exchange. */
  *frames(): Generator<HostMessage> {
    if (this.#kind === 'checkpoint') {
      yield { type: 'checkpoint', id: this.id }
      return
    }
    const payload = this.#payload!
    yield { type: 'restore', id: this.id, bytes: payload.byteLength }
    for (let at = 0; at < payload.byteLength; at += RESTORE_CHUNK_BYTES) {
      yield { type: 'restore_chunk', id: this.id, data: payload.subarray(at, at + RESTORE_CHUNK_BYTES) }
    }
  }

  /** One answer frame. Throws PROTOCOL_ERROR for an answer that does not fit this exchange. */
  onMessage(message: SnapshotMessage): void {
    if (this.#settled || message.id !== this.id)
      throw this.#protocol(`${message.type} for request ${message.id}`)
    switch (message.type) {
      case 'checkpoint_chunk':
        if (this.#kind !== 'checkpoint') throw this.#protocol('checkpoint_chunk during a restore')
        this.#received += message.data.byteLength
        if (this.#received > this.#maxBytes + Math.max(this.#maxBytes, MIN_DRAIN_BYTES)) {
          throw this.#protocol('a checkpoint far past maxCheckpointBytes')
        }
        if (this.#received > this.#maxBytes && !this.#overflow) {
          this.#chunks.length = 0
          this.#overflow = new CapsuleError(
            'LIMIT_EXCEEDED',
            `the checkpoint is larger than maxCheckpointBytes (${this.#maxBytes})`,
            { details: { limit: 'maxCheckpointBytes', maxCheckpointBytes: this.#maxBytes } },
          )
        }
        if (!this.#overflow) this.#chunks.push(message.data)
        return
      case 'checkpoint_done': {
        if (this.#kind !== 'checkpoint' || message.bytes !== this.#received) {
          throw this.#protocol('a checkpoint whose size does not match its chunks')
        }
        if (this.#overflow) {
          this.fail(this.#overflow)
          return
        }
        const capture: CheckpointCapture = {
          payload: this.#chunks.splice(0),
          python: message.python,
          hashSeed: message.hashSeed,
          names: message.names,
        }
        this.#settle(capture as unknown as T)
        return
      }
      case 'restore_done':
        if (this.#kind !== 'restore') throw this.#protocol('restore_done during a checkpoint')
        this.#settle(message.report as T)
        return
      case 'checkpoint_failed':
      case 'restore_failed':
        this.fail(
          this.#overflow ??
            new CapsuleError('CHECKPOINT_INVALID', message.message, { details: { reason: 'worker' } }),
        )
    }
  }

  /** Whether the exchange has ended, either way. */
  get settled(): boolean {
    return this.#settled
  }

  /** Ends the exchange with `error` (the worker died, the session closed). */
  fail(error: CapsuleError): void {
    if (this.#settled) return
    this.#settled = true
    this.#chunks.length = 0
    this.#reject(error)
  }

  #settle(value: T): void {
    this.#settled = true
    this.#resolve(value)
  }

  #protocol(what: string): CapsuleError {
    return new CapsuleError('PROTOCOL_ERROR', `the worker sent ${what}`)
  }
}

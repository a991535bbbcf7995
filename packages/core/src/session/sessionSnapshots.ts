import {
  CHECKPOINT_FORMAT,
  type CheckpointHeader,
  openCheckpoint,
  sealCheckpoint,
} from '../checkpoint/checkpointSeal.js'
import type { DurableRunner } from '../durable/durableRunner.js'
import { CapsuleError } from '../errors.js'
import type { ExecutionQueue } from './executionQueue.js'
import { type RestoreReport, SnapshotExchange } from './snapshotExchange.js'
import type { WorkerSupervisor } from './workerSupervisor.js'

/** A session's checkpoint: its sealed bytes (store them anywhere), what it holds, and its journal id. */
export interface Checkpoint {
  /** The checkpoint's id in the journal, when the session is durable. */
  id?: string
  /** The sealed checkpoint: `capsule.session({ restore: bytes })` on any host with the same `checkpointKey`. */
  bytes: Uint8Array
  /** What the host may read without unpickling anything. */
  header: CheckpointHeader
}

/** How a Capsule seals and finds its sessions' checkpoints. */
export interface SessionCheckpoints {
  /** The HMAC key (`checkpointKey`). */
  key: Uint8Array
  /** Sealed checkpoints larger than this are refused, in both directions. */
  maxBytes: number
  /** The sealed bytes of a checkpoint stored in the journal, by id. */
  load(id: string): Promise<Uint8Array | undefined>
}

/** What a session's checkpoints need from it. */
export interface SessionSnapshotsDeps {
  checkpoints: SessionCheckpoints | undefined
  supervisor: WorkerSupervisor
  queue: ExecutionQueue
  capabilities: string[]
  durable: DurableRunner | undefined
}

/** Takes and restores one session's checkpoints, between its cells. */
export class SessionSnapshots {
  readonly #deps: SessionSnapshotsDeps
  #nextId = 1
  #lastRestore: RestoreReport | undefined

  constructor(deps: SessionSnapshotsDeps) {
    this.#deps = deps
  }

  get lastRestore(): RestoreReport | undefined {
    return this.#lastRestore
  }

  async checkpoint(): Promise<Checkpoint> {
    const checkpoints = this.#settings()
    await this.#idle()
    const capture = await this.#deps.supervisor.snapshot(
      SnapshotExchange.checkpoint(this.#nextId++, checkpoints.maxBytes),
    )
    const durable = this.#deps.durable
    const header: CheckpointHeader = {
      format: CHECKPOINT_FORMAT,
      createdAt: new Date().toISOString(),
      python: capture.python,
      hashSeed: capture.hashSeed,
      ...(durable ? { sessionKey: durable.sessionKey } : {}),
      capabilities: this.#deps.capabilities,
      names: capture.names,
    }
    const bytes = sealCheckpoint(header, capture.payload, checkpoints.key)
    const id = durable ? await durable.storeCheckpoint(bytes) : undefined
    return { ...(id ? { id } : {}), bytes, header }
  }

  async restore(checkpoint: Pick<Checkpoint, 'bytes'> | Uint8Array | string): Promise<RestoreReport> {
    const checkpoints = this.#settings()
    const bytes = await this.#bytesOf(checkpoint, checkpoints)
    const opened = openCheckpoint(bytes, checkpoints.key, checkpoints.maxBytes)
    await this.#idle()
    const report = await this.#deps.supervisor.snapshot(
      SnapshotExchange.restore(this.#nextId++, opened.payload),
    )
    this.#lastRestore = report
    return report
  }

  #settings(): SessionCheckpoints {
    const checkpoints = this.#deps.checkpoints
    if (!checkpoints)
      throw new CapsuleError('INVALID_OPTIONS', 'this session was built without checkpoint settings')
    return checkpoints
  }

  async #bytesOf(
    checkpoint: Pick<Checkpoint, 'bytes'> | Uint8Array | string,
    checkpoints: SessionCheckpoints,
  ): Promise<Uint8Array> {
    if (checkpoint instanceof Uint8Array) return checkpoint
    if (typeof checkpoint === 'string') {
      const stored = await checkpoints.load(checkpoint)
      if (!stored) {
        throw new CapsuleError('UNKNOWN_RECORD', `no checkpoint has the id ${JSON.stringify(checkpoint)}`, {
          details: { record: 'checkpoint', id: checkpoint },
        })
      }
      return stored
    }
    if (checkpoint && checkpoint.bytes instanceof Uint8Array) return checkpoint.bytes
    throw new CapsuleError('INVALID_ARGUMENT', 'restore() takes a checkpoint, its bytes or its journal id')
  }

  // Between cells: after everything queued before the request has run.
  async #idle(): Promise<void> {
    const queue = this.#deps.queue
    for (;;) {
      const current = queue.current
      if (current) {
        await current.result.then(
          () => undefined,
          () => undefined,
        )
        continue
      }
      if (queue.queued > 0) {
        await new Promise((resolve) => setImmediate(resolve))
        continue
      }
      return
    }
  }
}

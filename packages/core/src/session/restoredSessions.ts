import { type CheckpointHeader, openCheckpoint } from '../checkpoint/checkpointSeal.js'
import type { SessionOptions } from '../config/capsuleOptionsSchema.js'
import { CapsuleError, isCapsuleError } from '../errors.js'
import type { SecurityPolicy } from '../security/securityPolicy.js'
import type { Session } from './session.js'
import type { SessionBuildOptions } from './sessionFactory.js'

/** A checkpoint as a restore takes it: the checkpoint, its sealed bytes, or its id in the journal. */
export type CheckpointSource = Uint8Array | string | { bytes: Uint8Array }

/** A checkpoint whose signature and format were verified with the Capsule's key. */
interface VerifiedCheckpoint {
  bytes: Uint8Array
  header: CheckpointHeader
}

/** What restored sessions need of their Capsule. */
export interface RestoredSessionsDeps {
  /** The sealed bytes of a checkpoint stored in the journal, by id. */
  load(id: string): Promise<Uint8Array | undefined>
  key: Uint8Array
  maxBytes: number
  /** `pool.warmFrom`: every pooled session is restored from it. */
  warmFrom: CheckpointSource | undefined
  /** Builds and starts a session outside the pool. */
  create(options: SessionBuildOptions, policy?: SecurityPolicy): Promise<Session>
  /** A pool slot: a pooled session without `create`, else a session `create` makes in the slot. */
  acquire(create?: () => Promise<Session>): Promise<Session>
  /** The pool's own sessions can never be made (a refused `warmFrom`). */
  stopWarming(error: unknown): void
  /** PYTHONHASHSEED of pooled workers that fix none ('' = random per worker). */
  poolHashSeed(): string
}

/**
 * Sessions that start from a checkpoint: the pool's, when `pool.warmFrom` is set (each restored before
 * it is handed out), and those of `capsule.session({ restore })`, which take a pooled worker when one fits
 * (the same policy, options and hash seed the restore would start a fresh worker with) and a fresh worker
 * with the checkpoint's hash seed otherwise. Every checkpoint is verified before a worker is taken for it.
 */
export class RestoredSessions {
  readonly #deps: RestoredSessionsDeps
  /** The verified `warmFrom`, once known: verified once, and a refusal is kept. */
  #warm: Promise<VerifiedCheckpoint> | undefined

  /** Verifies `warmFrom` bytes now: a tampered checkpoint fails the Capsule's creation (CHECKPOINT_INVALID). */
  constructor(deps: RestoredSessionsDeps) {
    this.#deps = deps
    const warmFrom = deps.warmFrom
    if (warmFrom !== undefined && typeof warmFrom !== 'string') {
      this.#warm = Promise.resolve(this.#verify(bytesOf(warmFrom)))
    }
  }

  /** The pool's factory: a fresh session, restored from `warmFrom` when there is one. */
  async pooled(): Promise<Session> {
    if (this.#deps.warmFrom === undefined) return this.#deps.create({})
    const warm = await this.#warmCheckpoint()
    const session = await this.#deps.create({ hashSeed: warm.header.hashSeed })
    try {
      await session.restore(warm.bytes)
    } catch (error) {
      session.destroy()
      // The worker refused it (another interpreter): every warm session would fail the same way.
      if (isCapsuleError(error) && error.code === 'CHECKPOINT_INVALID') this.#deps.stopWarming(error)
      throw error
    }
    return session
  }

  /**
   * `capsule.session({ restore })` (not durable). Fails with UNKNOWN_RECORD for an id the journal does not
   * hold and CHECKPOINT_INVALID for a refused checkpoint, before any worker is taken; a session whose
   * restore fails is destroyed.
   */
  async open(options: SessionOptions, policy: SecurityPolicy): Promise<Session> {
    const checkpoint = this.#verify(await this.#sealed(options.restore!))
    const onlyRestore = Object.entries(options).every(
      ([name, value]) => name === 'restore' || value === undefined,
    )
    if (onlyRestore && this.#deps.warmFrom !== undefined) {
      // Warm sessions already hold `warmFrom`: only a request for that very checkpoint may take one.
      const warm = await this.#warmCheckpoint().catch(() => undefined)
      if (warm && Buffer.from(warm.bytes).equals(checkpoint.bytes)) return this.#deps.acquire()
    } else if (onlyRestore && checkpoint.header.hashSeed === this.#deps.poolHashSeed()) {
      return this.#restoreInto(await this.#deps.acquire(), checkpoint)
    }
    const create = () => this.#deps.create({ ...options, hashSeed: checkpoint.header.hashSeed }, policy)
    return this.#restoreInto(await this.#deps.acquire(create), checkpoint)
  }

  // After the slot is taken, not inside the pool's factory: a refused restore is not a worker start failure.
  async #restoreInto(session: Session, checkpoint: VerifiedCheckpoint): Promise<Session> {
    try {
      await session.restore(checkpoint.bytes)
    } catch (error) {
      session.destroy()
      throw error
    }
    return session
  }

  #warmCheckpoint(): Promise<VerifiedCheckpoint> {
    if (!this.#warm) {
      const warm = this.#sealed(this.#deps.warmFrom!).then((bytes) => this.#verify(bytes))
      this.#warm = warm
      warm.catch((error) => {
        // A refused or unknown checkpoint stays refused; a journal that failed may answer next time.
        if (
          isCapsuleError(error) &&
          (error.code === 'CHECKPOINT_INVALID' || error.code === 'UNKNOWN_RECORD')
        ) {
          this.#deps.stopWarming(error)
        } else if (this.#warm === warm) this.#warm = undefined
      })
    }
    return this.#warm
  }

  #verify(bytes: Uint8Array): VerifiedCheckpoint {
    return { bytes, header: openCheckpoint(bytes, this.#deps.key, this.#deps.maxBytes).header }
  }

  async #sealed(source: CheckpointSource): Promise<Uint8Array> {
    if (typeof source !== 'string') return bytesOf(source)
    const stored = await this.#deps.load(source)
    if (!stored) {
      throw new CapsuleError('UNKNOWN_RECORD', `no checkpoint has the id ${JSON.stringify(source)}`, {
        details: { record: 'checkpoint', id: source },
      })
    }
    return stored
  }
}

function bytesOf(source: Uint8Array | { bytes: Uint8Array }): Uint8Array {
  return source instanceof Uint8Array ? source : source.bytes
}

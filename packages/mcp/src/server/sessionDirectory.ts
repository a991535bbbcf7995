import { type Capsule, CapsuleError, type Session } from '@capsule/core'

/** The `session_id` that asks for a fresh session (its id comes back in the result). */
export const NEW_SESSION = 'new'

/** Limits of a {@link SessionDirectory}. */
export interface SessionDirectoryOptions {
  /** Python sessions open at once; a new one past it is refused with LIMIT_EXCEEDED. */
  maxSessions: number
  /** A session unused this long is closed (its namespace is lost). 0 keeps sessions until their MCP session ends. */
  idleTimeoutMs: number
}

interface Entry {
  session: Session
  /** The MCP session (stdio connection, HTTP session) whose default session it is, if it is one. */
  scope: string | undefined
  /** The MCP session that created it: only that one may address it by id. */
  owner: string
  lastUsedAt: number
  timer: ReturnType<typeof setTimeout> | undefined
}

/**
 * The Python sessions an MCP server has open: one default session per MCP session (created on first use),
 * plus any a client addresses by the id a result gave it. Sessions are closed when their MCP session ends,
 * when they sit idle past `idleTimeoutMs`, and all of them on {@link close}.
 */
export class SessionDirectory {
  readonly #capsule: Capsule
  readonly #options: SessionDirectoryOptions
  readonly #byId = new Map<string, Entry>()
  readonly #byScope = new Map<string, Promise<Session>>()
  #closed = false

  constructor(capsule: Capsule, options: SessionDirectoryOptions) {
    this.#capsule = capsule
    this.#options = options
  }

  /**
   * The session named by `sessionId`, a new one for {@link NEW_SESSION}, else the default session of
   * `scope`, created on first use. An id this directory never handed out to `scope` (or already closed) is
   * INVALID_ARGUMENT.
   */
  async resolve(scope: string, sessionId: string | undefined): Promise<Session> {
    if (this.#closed) throw new CapsuleError('CAPSULE_CLOSED', 'the MCP server is shutting down')
    if (sessionId === NEW_SESSION) return this.#open(undefined, scope)
    if (sessionId !== undefined) {
      const entry = this.#byId.get(sessionId)
      // Another MCP session's Python session reads as absent: ids are not credentials.
      if (
        !entry ||
        entry.owner !== scope ||
        entry.session.state === 'closed' ||
        entry.session.state === 'closing'
      ) {
        throw new CapsuleError('INVALID_ARGUMENT', `no open Python session has the id ${sessionId}`, {
          details: { sessionId },
        })
      }
      this.#touch(entry)
      return entry.session
    }
    let pending = this.#byScope.get(scope)
    if (!pending) {
      pending = this.#open(scope, scope)
      this.#byScope.set(scope, pending)
      pending.catch(() => this.#byScope.delete(scope))
    }
    const session = await pending
    const entry = this.#byId.get(session.id)
    if (!entry) {
      // Closed since (idle, or its MCP session ended): start over with a fresh one.
      if (this.#byScope.get(scope) === pending) this.#byScope.delete(scope)
      return this.resolve(scope, undefined)
    }
    this.#touch(entry)
    return session
  }

  /** Marks the session used now (long cells keep their session alive). */
  touch(session: Session): void {
    const entry = this.#byId.get(session.id)
    if (entry) this.#touch(entry)
  }

  /** Closes the sessions of an MCP session that ended: its default one and those it started with "new". */
  async endScope(scope: string): Promise<void> {
    const pending = this.#byScope.get(scope)
    this.#byScope.delete(scope)
    const session = await pending?.catch(() => undefined)
    if (session) await this.#closeSession(session.id)
    const owned = [...this.#byId.values()].filter((entry) => entry.owner === scope)
    await Promise.all(owned.map((entry) => this.#closeSession(entry.session.id)))
  }

  /** How many sessions are open. */
  get size(): number {
    return this.#byId.size
  }

  /** Closes every session. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true
    await Promise.all([...this.#byScope.values()].map((pending) => pending.catch(() => undefined)))
    this.#byScope.clear()
    await Promise.all([...this.#byId.keys()].map((id) => this.#closeSession(id)))
  }

  async #open(scope: string | undefined, owner: string): Promise<Session> {
    if (this.#byId.size >= this.#options.maxSessions) {
      throw new CapsuleError(
        'LIMIT_EXCEEDED',
        `the server already has ${this.#byId.size} Python sessions open (maxSessions ${this.#options.maxSessions}); reuse one with session_id, or wait for idle ones to close`,
        { details: { maxSessions: this.#options.maxSessions } },
      )
    }
    const session = await this.#capsule.session()
    const entry: Entry = { session, scope, owner, lastUsedAt: Date.now(), timer: undefined }
    this.#byId.set(session.id, entry)
    if (this.#closed) {
      await this.#closeSession(session.id)
      throw new CapsuleError('CAPSULE_CLOSED', 'the MCP server is shutting down')
    }
    this.#touch(entry)
    return session
  }

  #touch(entry: Entry): void {
    entry.lastUsedAt = Date.now()
    if (this.#options.idleTimeoutMs <= 0) return
    if (entry.timer) clearTimeout(entry.timer)
    entry.timer = setTimeout(() => this.#expire(entry), this.#options.idleTimeoutMs)
    entry.timer.unref?.()
  }

  #expire(entry: Entry): void {
    entry.timer = undefined
    // A cell still running is use: look again after another idle period.
    if (entry.session.state === 'busy') {
      this.#touch(entry)
      return
    }
    void this.#closeSession(entry.session.id)
  }

  async #closeSession(id: string): Promise<void> {
    const entry = this.#byId.get(id)
    if (!entry) return
    this.#byId.delete(id)
    if (entry.timer) clearTimeout(entry.timer)
    if (entry.scope !== undefined && this.#byScope.has(entry.scope)) {
      const current = await this.#byScope.get(entry.scope)?.catch(() => undefined)
      if (current?.id === id) this.#byScope.delete(entry.scope)
    }
    // Whoever ran the cell is gone: stop it rather than let close() wait for it.
    await entry.session.interrupt().catch(() => undefined)
    await entry.session.close().catch(() => undefined)
  }
}

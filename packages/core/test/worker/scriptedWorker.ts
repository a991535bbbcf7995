import type { CapsuleError } from '../../src/errors.js'
import { createJsonCodec } from '../../src/protocol/codec.js'
import type { HostMessage } from '../../src/protocol/messages.js'
import { InMemoryFrameTransport } from '../../src/transport/inMemoryTransport.js'
import type { WorkerExit, WorkerPort } from '../../src/worker/workerProcess.js'

/** What a scripted worker does with an `execute`: by default it answers with a result at once. */
export type ExecuteScript = (
  message: Extract<HostMessage, { type: 'execute' }>,
  worker: ScriptedWorker,
) => void

/**
 * A fake worker process for session tests: it speaks the real protocol (JSON codec, hello → init → ready)
 * over an in-memory transport, records every message the host sends, and does what the test scripts.
 */
export class ScriptedWorker {
  readonly host: InMemoryFrameTransport
  readonly port: WorkerPort
  /** Every message the host sent, in order. */
  readonly received: HostMessage[] = []
  onExecute: ExecuteScript = (message, worker) =>
    worker.send({ type: 'result', id: message.id, count: message.id, value: { 'text/plain': 'None' } })
  readonly #end: InMemoryFrameTransport
  readonly #codec = createJsonCodec()
  #exit: WorkerExit | undefined
  #exitListener: ((exit: WorkerExit) => void) | undefined
  #exitWaiters: Array<(exit: WorkerExit) => void> = []
  #waiters: Array<{ test: (message: HostMessage) => boolean; resolve: (message: HostMessage) => void }> = []

  constructor(readonly pid = 4242) {
    const [host, worker] = InMemoryFrameTransport.createLinkedPair()
    this.host = host
    this.#end = worker
    worker.start({ onFrame: (body) => this.#onFrame(body), onClose: () => this.exit({ exitCode: 0 }) })
    this.send({
      type: 'hello',
      protocol: 1,
      codec: 'json',
      worker: {
        python: '3.12.0',
        implementation: 'cpython',
        executable: '/fake/python3',
        prefix: '/fake',
        pid,
        codecs: ['json'],
        startupMs: 1,
      },
    })
    const self = this
    this.port = {
      pid,
      kill(reason?: CapsuleError) {
        self.exit({ signal: 'SIGKILL', reason })
      },
      onExit(listener) {
        self.#exitListener = listener
        if (self.#exit) listener(self.#exit)
      },
      exited() {
        const exit = self.#exit
        return exit ? Promise.resolve(exit) : new Promise((resolve) => self.#exitWaiters.push(resolve))
      },
    }
  }

  /** Whether the process has ended. */
  get exited(): boolean {
    return this.#exit !== undefined
  }

  /** Sends a message (or any object: a hostile worker may send anything) to the host. */
  send(message: Record<string, unknown>): void {
    this.#end.send(this.#codec.encode(message))
  }

  /** Resolves with the next host message that passes `test` (one already received counts). */
  next(test: (message: HostMessage) => boolean): Promise<HostMessage> {
    const seen = this.received.find(test)
    if (seen) return Promise.resolve(seen)
    return new Promise((resolve) => this.#waiters.push({ test, resolve }))
  }

  /** The process ends (on its own, or killed). */
  exit(how: { exitCode?: number; signal?: NodeJS.Signals; reason?: CapsuleError }): void {
    if (this.#exit) return
    const exit: WorkerExit = {
      exitCode: how.exitCode ?? null,
      signal: how.signal ?? null,
      reason: how.reason,
      stderrTail: '',
    }
    this.#exit = exit
    this.#end.close()
    setImmediate(() => {
      this.#exitListener?.(exit)
      for (const waiter of this.#exitWaiters.splice(0)) waiter(exit)
    })
  }

  #onFrame(body: Uint8Array): void {
    const message = this.#codec.decode(body) as HostMessage
    this.received.push(message)
    for (const waiter of [...this.#waiters]) {
      if (!waiter.test(message)) continue
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
      waiter.resolve(message)
    }
    if (message.type === 'init')
      this.send({ type: 'ready', capabilities: message.capabilities.map((c) => c.id) })
    else if (message.type === 'execute') this.onExecute(message, this)
    else if (message.type === 'shutdown') this.exit({ exitCode: 0 })
  }
}

// Queued ─start→ Running ─result|error→ Done | ─fail(err)→ Failed
import type { CapabilityProgress } from '@capsule/provider-sdk'
import type { CapsuleError } from '../errors.js'
import type { MimeBundle } from '../protocol/messages.js'

/** A Python exception that ended a cell, as Jupyter shapes it. */
export interface PythonError {
  ename: string
  evalue: string
  /** Formatted lines of the user's frames only. */
  traceback: string[]
}

/** Rich output sent with `display(obj)`. */
export interface DisplayOutput {
  data: MimeBundle
  metadata: Record<string, unknown>
}

/** How an execution ended. */
export type ExecutionStatus = 'ok' | 'error' | 'interrupted' | 'timeout'

/** Everything an execution produced. */
export interface ExecutionResult {
  executionId: string
  /** The worker's execution counter (1, 2, …); 0 when the cell never ran. */
  executionCount: number
  status: ExecutionStatus
  /** The last expression's mime bundle (`text/plain` is its repr), or null. */
  value: MimeBundle | null
  stdout: string
  stderr: string
  displays: DisplayOutput[]
  error: PythonError | null
  durationMs: number
  /** Output bytes the worker dropped past `maxOutputBytes`. */
  outputTruncatedBytes: number
  /** True when the worker had to be killed and restarted: the namespace is gone. */
  stateLost: boolean
}

/** An `input()` waiting for the host's answer. */
export interface InputEvent {
  type: 'input'
  prompt: string
  password: boolean
  /** Settle it from elsewhere with `capsule.promises.resolve(promiseId, text)`. */
  promiseId: string
  /** Answers the prompt. Later answers are ignored. */
  reply(text: string): void
}

/** What `session.execute()` yields, in order. The last event is `result` or `error`. */
export type ExecutionEvent =
  | { type: 'stdout'; text: string }
  | { type: 'stderr'; text: string }
  | ({ type: 'display' } & DisplayOutput)
  | InputEvent
  | {
      type: 'call'
      callId: string
      capability: string
      /** The arguments, redacted like the audit log. */
      args: unknown
    }
  | ({ type: 'progress'; callId: string; capability: string } & CapabilityProgress)
  | { type: 'result'; result: ExecutionResult }
  | { type: 'error'; result: ExecutionResult }

/**
 * One execution's event stream and its accumulated result. Events are buffered until read, so a
 * caller may start iterating late without losing any. The worker caps output, which bounds the buffer.
 */
export class Execution implements AsyncIterable<ExecutionEvent> {
  readonly id: string
  readonly code: string
  /** The protocol id of the `execute` frame, once sent. */
  protocolId = -1
  startedAt = 0
  interrupted = false
  timedOut = false
  readonly #events: ExecutionEvent[] = []
  #waiter: (() => void) | undefined
  #failure: CapsuleError | undefined
  #done = false
  #stdout: string[] = []
  #stderr: string[] = []
  #displays: DisplayOutput[] = []
  readonly #result: Promise<ExecutionResult>
  #resolveResult!: (result: ExecutionResult) => void
  #rejectResult!: (error: CapsuleError) => void
  #consumed = false

  readonly #streaming: boolean

  /** `streaming: false` (for `run()`) keeps only the result, not every event for an iterator. */
  constructor(id: string, code: string, streaming = true) {
    this.id = id
    this.code = code
    this.#streaming = streaming
    this.#result = new Promise((resolve, reject) => {
      this.#resolveResult = resolve
      this.#rejectResult = reject
    })
    // A caller that only iterates (and sees the failure there) must not trigger an unhandled rejection.
    this.#result.catch(() => {})
  }

  /** Whether someone may iterate the events (false for `run()`, which keeps only the result). */
  get streaming(): boolean {
    return this.#streaming
  }

  /** Whether the execution has ended (either way). */
  get done(): boolean {
    return this.#done
  }

  /** Settles with the result, or rejects with the host-side failure. */
  get result(): Promise<ExecutionResult> {
    return this.#result
  }

  push(event: ExecutionEvent): void {
    if (this.#done) return
    if (event.type === 'stdout') this.#stdout.push(event.text)
    else if (event.type === 'stderr') this.#stderr.push(event.text)
    else if (event.type === 'display') this.#displays.push({ data: event.data, metadata: event.metadata })
    if (!this.#streaming) return
    this.#events.push(event)
    this.#wake()
  }

  /** Ends the execution with a result built from what was collected. */
  complete(
    fields: Omit<ExecutionResult, 'executionId' | 'stdout' | 'stderr' | 'displays' | 'durationMs'>,
  ): ExecutionResult {
    const result: ExecutionResult = {
      executionId: this.id,
      ...fields,
      stdout: this.#stdout.join(''),
      stderr: this.#stderr.join(''),
      displays: this.#displays,
      durationMs: this.startedAt ? performance.now() - this.startedAt : 0,
    }
    this.push(result.status === 'ok' ? { type: 'result', result } : { type: 'error', result })
    this.#done = true
    this.#wake()
    this.#resolveResult(result)
    return result
  }

  /** Ends the execution with a host-side failure (worker died, session closed). */
  fail(error: CapsuleError): void {
    if (this.#done) return
    this.#done = true
    this.#failure = error
    this.#rejectResult(error)
    this.#wake()
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ExecutionEvent> {
    if (this.#consumed || !this.#streaming) throw new TypeError('an execution can be iterated only once')
    this.#consumed = true
    let index = 0
    for (;;) {
      while (index < this.#events.length) {
        const event = this.#events[index]!
        // Drop what was delivered so a long stream does not keep every chunk alive twice.
        this.#events[index] = undefined as never
        index += 1
        yield event
        if (event.type === 'result' || event.type === 'error') return
      }
      if (this.#failure) throw this.#failure
      await new Promise<void>((resolve) => {
        this.#waiter = resolve
      })
    }
  }

  #wake(): void {
    const waiter = this.#waiter
    this.#waiter = undefined
    waiter?.()
  }
}

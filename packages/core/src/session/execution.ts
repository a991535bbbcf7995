// Queued ─start→ Running ─result|error→ Done | ─fail(err)→ Failed
import type { CapabilityProgress } from '@capsule/provider-sdk'
import type { CapsuleError } from '../errors.js'
import type { MimeBundle } from '../protocol/messages.js'
import type { OutputCap } from './outputCap.js'
import { TextAccumulator } from './textAccumulator.js'

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
  /** Output bytes dropped past `maxOutputBytes` (by the worker, or by the host when the worker did not). */
  outputTruncatedBytes: number
  /** Display bytes the host dropped past `maxDisplayOutputBytes`. */
  displayTruncatedBytes: number
  /** True when the worker had to be killed and restarted: the namespace is gone. */
  stateLost: boolean
  /** For `status: 'timeout'`: which deadline passed, and whether the cell was waiting for `input()`. */
  details?: ExecutionTimeoutDetails
}

/** Why an execution timed out (`result.details` of a `timeout`). */
export interface ExecutionTimeoutDetails {
  /** The deadline that passed: the session's `executeTimeoutMs`, the execution's own `timeoutMs`, or `inputTimeoutMs`. */
  limit: 'executeTimeoutMs' | 'timeoutMs' | 'inputTimeoutMs'
  /** Its value in milliseconds. */
  timeoutMs: number
  /** Set when the cell was blocked in `input()` (or `getpass()`) when the deadline passed. */
  waitingFor?: 'input'
  /** The prompt of that `input()`. */
  prompt?: string
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

/** Call and progress events a slow consumer may fall behind by; later ones are dropped (the audit has them). */
export const MAX_UNDELIVERED_CALL_EVENTS = 1000

type StreamEvent = { type: 'stdout' | 'stderr'; text: string }

/** An execution's own `onInput` (see `ExecuteOptions.onInput`). */
export type ExecutionInputHandler = (request: {
  prompt: string
  password: boolean
  promiseId: string
  sessionId: string
  executionId: string | null
}) => string | undefined | Promise<string | undefined>

/**
 * One execution's event stream and its accumulated result. Events are buffered until read, so a
 * caller may start iterating late without losing any. Output and displays from the worker pass the
 * host's {@link OutputCap}, which bounds the buffer whatever the worker sends. A consumer that reads slower than
 * output arrives gets it in fewer, longer events (text of one stream joins its last undelivered event), and
 * at most {@link MAX_UNDELIVERED_CALL_EVENTS} call and progress events wait for it.
 */
export class Execution implements AsyncIterable<ExecutionEvent> {
  readonly id: string
  readonly code: string
  /** The protocol id of the `execute` frame, once sent. */
  protocolId = -1
  startedAt = 0
  interrupted = false
  timedOut = false
  /** Set with `timedOut`: which deadline passed (see {@link ExecutionResult.details}). */
  timeoutDetails: ExecutionTimeoutDetails | undefined
  /** The execution's own `timeoutMs`, when it set one. */
  timeoutMs: number | undefined
  /** Answers this execution's `input()` before the session's handler does. */
  onInput: ExecutionInputHandler | undefined
  readonly #events: ExecutionEvent[] = []
  // The last stdout/stderr event, while it waits to be delivered: more text of that stream joins it.
  #tail: { event: StreamEvent; text: TextAccumulator } | undefined
  #undeliveredCallEvents = 0
  #waiter: (() => void) | undefined
  #failure: CapsuleError | undefined
  #done = false
  readonly #stdout = new TextAccumulator()
  readonly #stderr = new TextAccumulator()
  readonly #cap: OutputCap | undefined
  #displays: DisplayOutput[] = []
  readonly #result: Promise<ExecutionResult>
  #resolveResult!: (result: ExecutionResult) => void
  #rejectResult!: (error: CapsuleError) => void
  #consumed = false
  #reading = false

  readonly #streaming: boolean

  /**
   * `streaming: false` (for `run()`) keeps only the result, not every event for an iterator. `cap` bounds
   * what {@link pushStream} and {@link pushDisplay} keep.
   */
  constructor(id: string, code: string, streaming = true, cap?: OutputCap) {
    this.id = id
    this.code = code
    this.#streaming = streaming
    this.#cap = cap
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

  /**
   * Whether a consumer is iterating the events now (it opened the iterator and has not left it), so it can
   * answer an `input` event.
   */
  get reading(): boolean {
    return this.#reading
  }

  /** Whether the execution has ended (either way). */
  get done(): boolean {
    return this.#done
  }

  /** Settles with the result, or rejects with the host-side failure. */
  get result(): Promise<ExecutionResult> {
    return this.#result
  }

  /** Output from the worker, as far as the cap keeps it (with the truncation marker where it cuts). */
  pushStream(name: 'stdout' | 'stderr', text: string): void {
    if (!this.#cap) {
      this.push({ type: name, text })
      return
    }
    const { keep, marker } = this.#cap.stream(text)
    if (keep !== undefined) this.push({ type: name, text: keep })
    if (marker) this.push({ type: 'stderr', text: marker })
  }

  /** A display from the worker, as far as the cap keeps it; `frameBytes` is the size of its frame. */
  pushDisplay(data: MimeBundle, metadata: Record<string, unknown>, frameBytes: number): void {
    if (!this.#cap) {
      this.push({ type: 'display', data, metadata })
      return
    }
    const { keep, marker } = this.#cap.display(data, frameBytes)
    if (keep !== undefined)
      this.push({ type: 'display', data: keep, metadata: keep === data ? metadata : {} })
    if (marker) this.push({ type: 'stderr', text: marker })
  }

  push(event: ExecutionEvent): void {
    if (this.#done) return
    if (event.type === 'stdout') this.#stdout.push(event.text)
    else if (event.type === 'stderr') this.#stderr.push(event.text)
    else if (event.type === 'display') this.#displays.push({ data: event.data, metadata: event.metadata })
    if (!this.#streaming) return
    if (event.type === 'stdout' || event.type === 'stderr') {
      if (this.#tail?.event.type === event.type) {
        this.#tail.text.push(event.text)
        this.#wake()
        return
      }
      this.#sealTail()
      const own: StreamEvent = { type: event.type, text: event.text }
      const text = new TextAccumulator()
      text.push(event.text)
      this.#tail = { event: own, text }
      this.#events.push(own as ExecutionEvent)
    } else {
      this.#sealTail()
      if (event.type === 'call' || event.type === 'progress') {
        if (this.#undeliveredCallEvents >= MAX_UNDELIVERED_CALL_EVENTS) return
        this.#undeliveredCallEvents += 1
      }
      this.#events.push(event)
    }
    this.#wake()
  }

  #sealTail(): void {
    const tail = this.#tail
    if (!tail) return
    tail.event.text = tail.text.toString()
    this.#tail = undefined
  }

  /** Ends the execution with a result built from what was collected. */
  complete(
    fields: Omit<
      ExecutionResult,
      'executionId' | 'stdout' | 'stderr' | 'displays' | 'durationMs' | 'displayTruncatedBytes'
    >,
  ): ExecutionResult {
    const result: ExecutionResult = {
      executionId: this.id,
      ...fields,
      outputTruncatedBytes: fields.outputTruncatedBytes + (this.#cap?.droppedOutputBytes ?? 0),
      displayTruncatedBytes: this.#cap?.droppedDisplayBytes ?? 0,
      stdout: this.#stdout.toString(),
      stderr: this.#stderr.toString(),
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
    this.#reading = true
    let index = 0
    try {
      for (;;) {
        while (index < this.#events.length) {
          const event = this.#events[index]!
          // Drop what was delivered so a long stream does not keep every chunk alive twice.
          this.#events[index] = undefined as never
          index += 1
          if (event === this.#tail?.event) this.#sealTail()
          if (event.type === 'call' || event.type === 'progress') this.#undeliveredCallEvents -= 1
          yield event
          if (event.type === 'result' || event.type === 'error') return
        }
        if (this.#failure) throw this.#failure
        await new Promise<void>((resolve) => {
          this.#waiter = resolve
        })
      }
    } finally {
      // The loop ended or the consumer broke out of it: nobody reads input events any more.
      this.#reading = false
    }
  }

  #wake(): void {
    const waiter = this.#waiter
    this.#waiter = undefined
    waiter?.()
  }
}

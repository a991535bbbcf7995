import type { Execution, ExecutionEvent, ExecutionResult } from './execution.js'

/**
 * An execution whose worker side starts later: a durable cell is recorded in the journal first, so
 * `execute()` hands this out at once and its events flow once the worker's execution exists. A cell the
 * journal already holds settled (the same idempotency key) has no events but its `result`.
 */
export class DeferredExecution implements AsyncIterable<ExecutionEvent> {
  /** The result, as the journal recorded it. */
  readonly result: Promise<ExecutionResult>
  readonly #inner: Promise<Execution | undefined>

  constructor(start: (onExecution: (execution: Execution | undefined) => void) => Promise<ExecutionResult>) {
    let resolveInner!: (execution: Execution | undefined) => void
    this.#inner = new Promise((resolve) => {
      resolveInner = resolve
    })
    this.result = start(resolveInner)
    // A failure before any execution existed ends the events too (the iterator rethrows it).
    this.result.then(
      () => resolveInner(undefined),
      () => resolveInner(undefined),
    )
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ExecutionEvent> {
    const inner = await this.#inner
    if (inner !== undefined) {
      yield* inner
      return
    }
    const result = await this.result
    yield result.status === 'ok' ? { type: 'result', result } : { type: 'error', result }
  }
}

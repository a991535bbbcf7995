import { CapabilityError, type CapabilityLogger, type CapabilityProgress } from '@capsule/provider-sdk'
import type { CallHooks, PendingCall } from '../calls/pendingCall.js'
import { CapsuleError } from '../errors.js'
import type { Clock } from '../util/clock.js'
import type { Execution, ExecutionTimeoutDetails, InputEvent } from './execution.js'
import type { InputHandler } from './sessionTypes.js'

/** What answering `input()` needs from the session. */
export interface InputPromptsDeps {
  sessionId: string
  inputTimeoutMs: number
  clock: Clock
  /** The session's handler, for executions that bring none. */
  onInput?: InputHandler
  logger?: CapabilityLogger
  /** Times out `execution` if it is the one running; false when it is not. */
  timeOutExecution(execution: Execution, details: ExecutionTimeoutDetails): boolean
  /** Durable sessions: puts the question in the journal too, where any process may answer it. */
  journal?: {
    ask(call: PendingCall): Promise<string> | undefined
    settled(call: PendingCall): void
  }
}

/**
 * A session's per-call callbacks: progress becomes `progress` events, and an `input()` is put to the
 * execution's consumer and the input handlers. With nobody who could answer (no handler, no consumer
 * reading the events) Python gets EOFError at once, as with a closed stdin; otherwise the answer has
 * `inputTimeoutMs`.
 */
export class InputPrompts implements CallHooks {
  readonly #deps: InputPromptsDeps

  constructor(deps: InputPromptsDeps) {
    this.#deps = deps
  }

  onProgress(call: PendingCall, update: CapabilityProgress): void {
    const execution = call.execution
    if (execution?.streaming) {
      execution.push({ type: 'progress', callId: call.id, capability: call.capability, ...update })
    }
  }

  onInput(call: PendingCall): void {
    const ask = call.input!
    const execution = call.execution
    const { logger, sessionId } = this.#deps
    const where = { sessionId, executionId: call.executionId, promiseId: call.id }
    const handler = execution?.onInput ?? this.#deps.onInput
    const fromJournal = this.#deps.journal?.ask(call)
    fromJournal?.then(
      (text) => call.settle({ value: text }),
      (error) => call.settle({ error }),
    )
    if (!handler && !execution?.reading && fromJournal === undefined) {
      logger?.warn(
        'input() has nobody to answer it (no onInput handler, no execute() consumer): EOFError',
        where,
      )
      // NOT_FOUND on input() is what the worker raises as EOFError.
      call.settle({
        error: new CapabilityError(
          'NOT_FOUND',
          'EOF when reading a line: nobody is there to answer input() (the host set no onInput handler and reads no execute() events)',
        ),
      })
      return
    }
    const settle = (text: unknown) => {
      if (typeof text === 'string') call.settle({ value: text })
    }
    const event: InputEvent = {
      type: 'input',
      prompt: ask.prompt,
      password: ask.password,
      promiseId: call.id,
      reply: (text: string) => {
        if (typeof text !== 'string') throw new CapsuleError('INVALID_ARGUMENT', 'reply() takes a string')
        settle(text)
      },
    }
    execution?.push(event)
    this.#startTimer(call)
    if (!handler) return
    const request = {
      prompt: ask.prompt,
      password: ask.password,
      promiseId: call.id,
      sessionId,
      executionId: call.executionId,
    }
    Promise.resolve()
      .then(() => handler(request))
      .then(
        (text) => {
          settle(text)
          if (typeof text !== 'string' && !execution?.reading && !call.settled) {
            logger?.warn(
              'input() is waiting: the onInput handler left it unanswered; answer it with capsule.promises.resolve(promiseId, text)',
              { ...where, inputTimeoutMs: this.#deps.inputTimeoutMs },
            )
          }
        },
        (error) =>
          call.settle({
            error: new CapabilityError('UNAVAILABLE', 'the host could not answer input()', { cause: error }),
          }),
      )
  }

  onInputSettled(call: PendingCall): void {
    this.#deps.journal?.settled(call)
    const ask = call.input
    if (ask?.timer === undefined) return
    this.#deps.clock.clearTimeout(ask.timer)
    ask.timer = undefined
  }

  #startTimer(call: PendingCall): void {
    const { inputTimeoutMs: timeoutMs, clock } = this.#deps
    const ask = call.input
    if (timeoutMs <= 0 || !ask || call.settled) return
    ask.timer = clock.setTimeout(() => {
      ask.timer = undefined
      if (call.settled) return
      const execution = call.execution
      this.#deps.logger?.warn('input() was not answered within inputTimeoutMs', {
        sessionId: this.#deps.sessionId,
        executionId: call.executionId,
        promiseId: call.id,
        inputTimeoutMs: timeoutMs,
      })
      if (execution && this.#deps.timeOutExecution(execution, { limit: 'inputTimeoutMs', timeoutMs })) return
      // An input() outside the running execution (a background thread): only the call times out.
      call.settle({
        error: new CapabilityError(
          'TIMEOUT',
          `input() was not answered within ${timeoutMs} ms (limits.inputTimeoutMs)`,
        ),
      })
    }, timeoutMs)
  }
}

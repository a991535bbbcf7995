import { randomBytes } from 'node:crypto'
import type { Capsule, ExecutionEvent, InputEvent, Session } from '@capsule/core'
import {
  type CallToolResult,
  type InputRequiredResult,
  inputRequired,
  inputResponse,
  type ServerContext,
} from '@modelcontextprotocol/server'
import type { SessionDirectory } from './sessionDirectory.js'
import { type CapabilityCallSummary, executionToolResult } from './toolResult.js'

/** Longest progress message, in characters: longer output arrives in the final result only. */
export const MAX_PROGRESS_MESSAGE_CHARS = 8192

/** A cell that prints nothing still sends a progress notification this often, so clients that reset their
 * request timeout on progress keep waiting for it. */
export const PROGRESS_HEARTBEAT_MS = 10_000

/** Key of the one elicitation an `input()` asks for. */
const INPUT_REQUEST_KEY = 'input'

/** What a `run_python` call asks for. */
export interface RunPythonArgs {
  code: string
  session_id?: string | undefined
  timeout_seconds?: number | undefined
}

/** How one `run_python` request was made: who may be asked for input, and which MCP session it belongs to. */
export interface CellRequest {
  /** The MCP session (stdio connection, HTTP session), or the shared scope of stateless requests. */
  scope: string
  /** Whether the client can answer an elicitation (form mode). */
  canElicit: boolean
  ctx: ServerContext
}

// A cell waiting in input() for the client's answer, between two rounds of the same tools/call.
interface PausedCell {
  session: Session
  scope: string
  events: AsyncIterator<ExecutionEvent>
  calls: CapabilityCallSummary[]
  input: InputEvent
  timer: ReturnType<typeof setTimeout>
}

interface RunningCell {
  session: Session
  scope: string
  events: AsyncIterator<ExecutionEvent>
  calls: CapabilityCallSummary[]
}

/**
 * Runs `run_python` cells: streams their output as progress notifications, interrupts them when the
 * request is cancelled, and answers `input()` through elicitation. An `input()` ends the round with an
 * `input_required` result (the SDK turns it into an elicitation request on 2025-era connections); the cell
 * waits, paused, until the retried request brings the answer, for at most `pausedCellTtlMs`.
 */
export class CellRunner {
  readonly #capsule: Capsule
  readonly #directory: SessionDirectory
  readonly #pausedCellTtlMs: number
  readonly #paused = new Map<string, PausedCell>()

  constructor(capsule: Capsule, directory: SessionDirectory, pausedCellTtlMs: number) {
    this.#capsule = capsule
    this.#directory = directory
    this.#pausedCellTtlMs = pausedCellTtlMs
  }

  /** Runs a cell, or resumes the paused one the request's `requestState` names. */
  async run(args: RunPythonArgs, request: CellRequest): Promise<CallToolResult | InputRequiredResult> {
    const state = request.ctx.mcpReq.requestState<string>()
    if (typeof state === 'string') return this.#resume(state, request)
    const session = await this.#directory.resolve(request.scope, args.session_id)
    const timeoutMs = args.timeout_seconds === undefined ? undefined : Math.round(args.timeout_seconds * 1000)
    const events = session.execute(args.code, timeoutMs === undefined ? {} : { timeoutMs })
    return this.#drive(
      { session, scope: request.scope, events: events[Symbol.asyncIterator](), calls: [] },
      request,
    )
  }

  /** Interrupts and forgets every paused cell (the server is closing). */
  async close(): Promise<void> {
    const paused = [...this.#paused.keys()]
    await Promise.all(paused.map((token) => this.#abandon(token)))
  }

  async #resume(token: string, request: CellRequest): Promise<CallToolResult | InputRequiredResult> {
    const cell = this.#paused.get(token)
    // The state is the client's to echo; only a token this server issued, for the same MCP session, resumes.
    if (!cell || cell.scope !== request.scope) {
      return toolError(
        'this run_python round refers to a cell that is no longer waiting for input (it was answered, timed out or belongs to another session); run the code again',
      )
    }
    const answer = inputResponse(request.ctx.mcpReq.inputResponses, INPUT_REQUEST_KEY)
    if (answer.kind === 'missing') return askForInput(cell.input, token)
    this.#paused.delete(token)
    clearTimeout(cell.timer)
    const text = answer.kind === 'elicit' && answer.action === 'accept' ? answer.content?.answer : undefined
    if (typeof text === 'string') cell.input.reply(text)
    else this.#refuseInput(cell.input, 'the user declined to answer input()')
    return this.#drive(cell, request)
  }

  async #drive(cell: RunningCell, request: CellRequest): Promise<CallToolResult | InputRequiredResult> {
    const { ctx } = request
    const progressToken = ctx.mcpReq._meta?.progressToken
    let progress = 0
    const startedAt = Date.now()
    let lastReportAt = startedAt
    const report = (message: string) => {
      if (progressToken === undefined) return Promise.resolve()
      progress += 1
      lastReportAt = Date.now()
      return ctx.mcpReq
        .notify({ method: 'notifications/progress', params: { progressToken, progress, message } })
        .catch(() => undefined)
    }
    const heartbeat =
      progressToken === undefined
        ? undefined
        : setInterval(() => {
            const quietMs = Date.now() - lastReportAt
            if (quietMs >= PROGRESS_HEARTBEAT_MS)
              void report(`[still running after ${Math.round((Date.now() - startedAt) / 1000)} s]\n`)
          }, PROGRESS_HEARTBEAT_MS / 2)
    heartbeat?.unref()
    const onAbort = () => void cell.session.interrupt().catch(() => undefined)
    ctx.mcpReq.signal.addEventListener('abort', onAbort, { once: true })
    if (ctx.mcpReq.signal.aborted) onAbort()
    try {
      for (;;) {
        let next: IteratorResult<ExecutionEvent>
        try {
          next = await cell.events.next()
        } catch (error) {
          return toolError(`the Python session failed: ${(error as Error).message}`, cell.session.id)
        }
        if (next.done) return toolError('the cell ended without a result', cell.session.id)
        const event = next.value
        this.#directory.touch(cell.session)
        switch (event.type) {
          case 'stdout':
          case 'stderr':
            await report(progressMessage(event.type, event.text))
            break
          case 'call':
            cell.calls.push({ capability: event.capability, args: event.args })
            break
          case 'input':
            if (!request.canElicit) {
              this.#refuseInput(
                event,
                'input() needs an MCP client that supports elicitation, and this one does not declare it; pass the data in the code instead',
              )
              break
            }
            return this.#pause(cell, event)
          case 'result':
          case 'error':
            return executionToolResult(cell.session.id, event.result, cell.calls)
        }
      }
    } finally {
      if (heartbeat) clearInterval(heartbeat)
      ctx.mcpReq.signal.removeEventListener('abort', onAbort)
    }
  }

  #pause(cell: RunningCell, input: InputEvent): InputRequiredResult {
    const token = randomBytes(18).toString('base64url')
    const timer = setTimeout(() => void this.#abandon(token), this.#pausedCellTtlMs)
    timer.unref?.()
    this.#paused.set(token, { ...cell, input, timer })
    return askForInput(input, token)
  }

  async #abandon(token: string): Promise<void> {
    const cell = this.#paused.get(token)
    if (!cell) return
    this.#paused.delete(token)
    clearTimeout(cell.timer)
    this.#refuseInput(cell.input, 'nobody answered input() in time')
    await cell.session.interrupt().catch(() => undefined)
    // Let the cell's remaining events go: nobody will read them.
    void drain(cell.events)
  }

  // NOT_FOUND on an input() is what Python raises as EOFError, with this message.
  #refuseInput(input: InputEvent, message: string): void {
    try {
      this.#capsule.promises.reject(input.promiseId, message, 'NOT_FOUND')
    } catch {
      // Already settled (answered, or timed out by inputTimeoutMs): nothing is waiting any more.
    }
  }
}

function askForInput(input: InputEvent, token: string): InputRequiredResult {
  return inputRequired({
    inputRequests: {
      [INPUT_REQUEST_KEY]: inputRequired.elicit({
        message: input.prompt === '' ? 'The Python code is waiting for input()' : input.prompt,
        requestedSchema: {
          type: 'object',
          properties: {
            answer: {
              type: 'string',
              title: input.password ? 'Password' : 'Answer',
              description: input.password ? 'The code asked with getpass()' : 'What input() returns',
            },
          },
          required: ['answer'],
        },
      }),
    },
    requestState: token,
  })
}

function progressMessage(stream: 'stdout' | 'stderr', text: string): string {
  const clipped =
    text.length > MAX_PROGRESS_MESSAGE_CHARS ? `${text.slice(0, MAX_PROGRESS_MESSAGE_CHARS)}…` : text
  return stream === 'stderr' ? `[stderr] ${clipped}` : clipped
}

function toolError(text: string, sessionId?: string): CallToolResult {
  return {
    content: [{ type: 'text', text }],
    isError: true,
    ...(sessionId === undefined ? {} : { _meta: { 'capsule/session_id': sessionId } }),
  }
}

async function drain(events: AsyncIterator<ExecutionEvent>): Promise<void> {
  try {
    for (;;) if ((await events.next()).done) return
  } catch {
    // The session failed: nothing more to read.
  }
}

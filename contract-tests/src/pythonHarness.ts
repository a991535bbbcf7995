import {
  type AuditEntry,
  Capsule,
  type CapsuleOptions,
  type ExecutionEvent,
  type SandboxMode,
  type Session,
} from '@capsule/core'
import type { CapabilityLogger, ProviderDefinition, SecurityLevel } from '@capsule/provider-sdk'
import { type InstrumentedProvider, instrumentProvider } from './instrumentProvider.js'
import type { ResourceWatch } from './resourceWatch.js'
import { toPythonLiteral } from './toPythonLiteral.js'

/** Marks the line of stdout that carries the harness's JSON answer. */
const ANSWER_MARK = '\u0001contract:'

/** How one call made from Python ended. */
export type PythonCallOutcome =
  | { ok: true; value: unknown }
  | {
      ok: false
      /** The exception's class name (`InvalidArguments`). */
      type: string
      /** Names of every class in its MRO (`ValueError` among them for InvalidArguments). */
      mro: string[]
      /** Its `.code`, when it has one. */
      code: string | null
      message: string
    }

// Helpers defined once per session: a JSON form of any result (bytes as {"$bytes": hex}) and the
// answer line. Names start with _contract_ so they cannot shadow a capability.
const PRELUDE = `
import json as _contract_json
def _contract_jsonable(v):
    if isinstance(v, (bytes, bytearray)):
        return {"$bytes": bytes(v).hex()}
    if isinstance(v, dict):
        return {str(k): _contract_jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_contract_jsonable(x) for x in v]
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return {"$repr": repr(v)}
def _contract_failure(e):
    return {"ok": False, "type": type(e).__name__, "mro": [c.__name__ for c in type(e).__mro__],
            "code": getattr(e, "code", None), "message": str(e)}
def _contract_emit(v):
    print(${toPythonLiteral(ANSWER_MARK)} + _contract_json.dumps(v))
`

// Writes forged call frames straight to the worker's frame pipe (docs/protocol.md: a 4-byte big-endian
// length, a JSON body, bytes as {"$b": base64}), bypassing the injected stubs as hostile code would.
const FORGE = `
import os as _contract_os, struct as _contract_struct, base64 as _contract_b64
def _contract_wire(v):
    if isinstance(v, (bytes, bytearray)):
        return {"$b": _contract_b64.b64encode(bytes(v)).decode()}
    if isinstance(v, dict):
        m = {k: _contract_wire(x) for k, x in v.items()}
        return {"$esc": m} if len(m) == 1 and next(iter(m)) in ("$b", "$esc") else m
    if isinstance(v, (list, tuple)):
        return [_contract_wire(x) for x in v]
    return v
def _contract_forge(frames):
    fd = int(_contract_os.environ.get("CAPSULE_FD_OUT", "4"))
    for i, (capability, args) in enumerate(frames):
        body = _contract_json.dumps({"type": "call", "id": 990000 + i, "exec": None,
                                     "capability": capability, "args": _contract_wire(args)}).encode()
        _contract_os.write(fd, _contract_struct.pack(">I", len(body)) + body)
`

/** What the harness is built from. */
export interface PythonHarnessOptions {
  /** The provider under test (the original: the harness registers instrumented copies). */
  provider: ProviderDefinition
  python?: string
  sandbox?: SandboxMode
  /** The small `callTimeoutMs` of the timeout session. */
  callTimeoutMs: number
  /** Follows the resources of every handler invocation in every Capsule of the harness. */
  watch?: ResourceWatch
}

/** One line the core wrote to the host's logger. */
export interface HostLogEntry {
  readonly level: keyof CapabilityLogger
  readonly message: string
  readonly fields: Record<string, unknown> | undefined
}

/**
 * Real Capsules and sessions for the end-to-end requirements, created on first use and closed by
 * `close()`: a Capsule at `unrestricted` with one session per security level, one with a small call
 * timeout, and one that denies every capability of the provider (for forged calls). Each registers its
 * own instrumented copy of the provider, so a test can see whether a handler ran and what it reported;
 * the main Capsule also keeps its audit entries and host log lines, as a host would receive them.
 */
export class PythonHarness {
  readonly #options: PythonHarnessOptions
  readonly #capsules: Capsule[] = []
  readonly #sessions = new Map<string, Promise<Session>>()
  #main: { capsule: Capsule; instrumented: InstrumentedProvider } | undefined
  #denyAll: { capsule: Capsule; instrumented: InstrumentedProvider; audit: AuditEntry[] } | undefined
  #timeout: { capsule: Capsule; instrumented: InstrumentedProvider } | undefined
  /** Every audit entry of the main Capsule, in order. */
  readonly audit: AuditEntry[] = []
  /** Every line the main Capsule's core logged, in order. */
  readonly hostLog: HostLogEntry[] = []

  constructor(options: PythonHarnessOptions) {
    this.#options = options
  }

  /** The instrumented provider of the main Capsule (its handler log counts calls of every level's session). */
  get main(): InstrumentedProvider {
    return this.#mainCapsule().instrumented
  }

  /** A ready session of the main Capsule at `level`, with the helpers loaded. */
  session(level: SecurityLevel): Promise<Session> {
    return this.#cachedSession(`level:${level}`, () => this.#mainCapsule().capsule.session({ level }))
  }

  /** A session whose calls time out after `callTimeoutMs` (capability `timeoutMs` overrides removed). */
  timeoutSession(): Promise<Session> {
    if (!this.#timeout) {
      const instrumented = instrumentProvider(this.#options.provider, {
        override: () => ({ timeoutMs: undefined }),
        watch: this.#options.watch,
      })
      const capsule = this.#capsule(instrumented.provider, {
        limits: { callTimeoutMs: this.#options.callTimeoutMs },
      })
      this.#timeout = { capsule, instrumented }
    }
    const { capsule } = this.#timeout
    return this.#cachedSession('timeout', () => capsule.session())
  }

  /**
   * Sends forged call frames for `calls` from a session whose policy grants none of the provider's
   * capabilities, and returns how many handler invocations and denied audit decisions followed.
   */
  async forgeDeniedCalls(
    calls: ReadonlyArray<{ capability: string; args: Record<string, unknown> }>,
  ): Promise<{ handlerCalls: number; deniedDecisions: string[] }> {
    if (!this.#denyAll) {
      const instrumented = instrumentProvider(this.#options.provider, { watch: this.#options.watch })
      const audit: AuditEntry[] = []
      const ids = this.#options.provider.capabilities.map(
        (definition) => `${this.#options.provider.name}.${definition.name}`,
      )
      const capsule = this.#capsule(instrumented.provider, {
        deny: ids,
        codec: 'json',
        onAudit: (entry) => audit.push(entry),
      })
      this.#denyAll = { capsule, instrumented, audit }
    }
    const { capsule, instrumented, audit } = this.#denyAll
    const session = await this.#cachedSession('deny-all', () => capsule.session())
    const frames = toPythonLiteral(calls.map((call) => [call.capability, call.args]))
    const result = await session.run(`${FORGE}\n_contract_forge(${frames})\n`)
    if (result.status !== 'ok') throw new Error(`forging call frames failed: ${describeError(result.error)}`)
    // The session checks a call frame as soon as it arrives, before the result that followed it, so
    // every decision is in the audit log by now.
    const deniedDecisions = audit
      .filter((entry) => entry.type === 'decision' && entry.decision === 'denied')
      .map((entry) => entry.capability)
    const handlerCalls = [...instrumented.log.calls.values()].reduce((sum, count) => sum + count, 0)
    return { handlerCalls, deniedDecisions }
  }

  /**
   * Calls `pythonName(**args)` once per entry of `calls` in `session`: `sync` one after another from
   * plain code, `async` the first with `await` and the rest together with `asyncio.gather`.
   */
  async call(
    session: Session,
    pythonName: string,
    calls: ReadonlyArray<Record<string, unknown>>,
    mode: 'sync' | 'async' = 'sync',
  ): Promise<PythonCallOutcome[]> {
    const lines: string[] = ['_contract_out = []']
    if (mode === 'sync') {
      for (const args of calls) {
        lines.push(
          'try:',
          `    _contract_out.append({"ok": True, "value": _contract_jsonable(${pythonName}(**${toPythonLiteral(args)}))})`,
          'except BaseException as _contract_e:',
          '    _contract_out.append(_contract_failure(_contract_e))',
        )
      }
    } else {
      const [first, ...rest] = calls.map((args) => `${pythonName}(**${toPythonLiteral(args)})`)
      lines.push(
        'import asyncio as _contract_asyncio',
        'try:',
        `    _contract_values = [await ${first ?? 'None'}]`,
        `    _contract_values.extend(await _contract_asyncio.gather(${rest.join(', ')}))`,
        '    _contract_out = [{"ok": True, "value": _contract_jsonable(v)} for v in _contract_values]',
        'except BaseException as _contract_e:',
        '    _contract_out = [_contract_failure(_contract_e)]',
      )
    }
    lines.push('_contract_emit(_contract_out)')
    return (await this.answer(session, lines.join('\n'))) as PythonCallOutcome[]
  }

  /**
   * Calls `pythonName(**args)` once from plain code through `session.execute()`, and returns how the
   * call ended with every event the execution yielded (its `call` and `progress` events among them).
   */
  async stream(
    session: Session,
    pythonName: string,
    args: Record<string, unknown>,
  ): Promise<{ outcome: PythonCallOutcome | undefined; events: ExecutionEvent[] }> {
    const code = [
      'try:',
      `    _contract_out = {"ok": True, "value": _contract_jsonable(${pythonName}(**${toPythonLiteral(args)}))}`,
      'except BaseException as _contract_e:',
      '    _contract_out = _contract_failure(_contract_e)',
      '_contract_emit(_contract_out)',
    ].join('\n')
    const events: ExecutionEvent[] = []
    for await (const event of session.execute(code)) events.push(event)
    const last = events.at(-1)
    const result = last?.type === 'result' || last?.type === 'error' ? last.result : undefined
    if (result?.status !== 'ok')
      throw new Error(`the Python cell failed: ${describeError(result?.error ?? null)}`)
    return { outcome: readAnswer(result.stdout) as PythonCallOutcome | undefined, events }
  }

  /**
   * Runs `code` (which must end by calling `_contract_emit(value)`) and returns that value. Throws
   * when the cell fails or emits nothing.
   */
  async answer(session: Session, code: string): Promise<unknown> {
    const result = await session.run(code)
    if (result.status !== 'ok') throw new Error(`the Python cell failed: ${describeError(result.error)}`)
    return readAnswer(result.stdout)
  }

  /** Closes every Capsule it opened. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#capsules.splice(0).map((capsule) => capsule.close()))
    this.#sessions.clear()
  }

  #mainCapsule(): { capsule: Capsule; instrumented: InstrumentedProvider } {
    if (!this.#main) {
      const instrumented = instrumentProvider(this.#options.provider, { watch: this.#options.watch })
      const logTo =
        (level: keyof CapabilityLogger) =>
        (message: string, fields?: Record<string, unknown>): void => {
          this.hostLog.push({ level, message, fields })
        }
      const capsule = this.#capsule(instrumented.provider, {
        onAudit: (entry) => this.audit.push(entry),
        logger: { debug: logTo('debug'), info: logTo('info'), warn: logTo('warn'), error: logTo('error') },
      })
      this.#main = { capsule, instrumented }
    }
    return this.#main
  }

  #capsule(provider: ProviderDefinition, extra: Partial<CapsuleOptions>): Capsule {
    const capsule = new Capsule({
      level: 'unrestricted',
      sandbox: this.#options.sandbox ?? 'none',
      ...(this.#options.python === undefined ? {} : { python: this.#options.python }),
      providers: [provider],
      ...extra,
    })
    this.#capsules.push(capsule)
    return capsule
  }

  #cachedSession(key: string, open: () => Promise<Session>): Promise<Session> {
    let session = this.#sessions.get(key)
    if (!session) {
      session = open().then(async (opened) => {
        const result = await opened.run(PRELUDE)
        if (result.status !== 'ok')
          throw new Error(`loading the contract helpers failed: ${describeError(result.error)}`)
        return opened
      })
      // A failed start is not cached: the next test reports its own failure.
      session.catch(() => this.#sessions.delete(key))
      this.#sessions.set(key, session)
    }
    return session
  }
}

// The value a cell emitted with _contract_emit(); throws when it emitted none.
function readAnswer(stdout: string): unknown {
  const line = stdout.split('\n').find((text) => text.startsWith(ANSWER_MARK))
  if (line === undefined) throw new Error(`the Python cell printed no answer; stdout: ${stdout}`)
  return JSON.parse(line.slice(ANSWER_MARK.length))
}

function describeError(error: { ename: string; evalue: string } | null): string {
  return error ? `${error.ename}: ${error.evalue}` : 'unknown error'
}

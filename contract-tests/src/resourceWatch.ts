import { AsyncResource, createHook, executionAsyncId } from 'node:async_hooks'

/**
 * Async resource types that are bookkeeping, not work left running, so a watched call may leave them
 * behind: promises and ticks settle on their own; a file handle's native object and its close request
 * are destroyed by the garbage collector even after a proper close (and Node creates the handle outside
 * any async scope, so it could not be traced to the call anyway); undici's request record is destroyed
 * by the garbage collector too, even after a request that completed; and even a synchronous
 * crypto.randomBytes() creates a request object; Node 24's web streams mark a stream's end with a
STREAM_END_OF_STREAM resource the garbage collector destroys. Everything else counts: timers, immediates, sockets,
 * servers, pipes, child processes, DNS and fs requests.
 */
export const BENIGN_RESOURCE_TYPES: ReadonlySet<string> = new Set([
  'PROMISE',
  'TickObject',
  'FILEHANDLE',
  'FILEHANDLECLOSEREQ',
  'UNDICI_REQUEST',
  'RANDOMBYTESREQUEST',
  'STREAM_END_OF_STREAM',
])

/** How many event-loop turns to give destroy hooks: they run a turn after a timer is cleared or a handle closed. */
const DESTROY_TURNS = 3

interface WatchedResource {
  readonly type: string
  // Weak: watching must not keep a closed handle's object alive.
  readonly object: WeakRef<object> | undefined
}

/** One handler invocation the watch follows, with every async resource created from it. */
export interface WatchedCall {
  /** The capability's name inside the provider. */
  readonly capability: string
  /** How the handler's promise ended; undefined while it runs. */
  readonly outcome: 'resolved' | 'rejected' | undefined
  /** Settles (never rejects) when the handler's promise settles. */
  readonly settled: Promise<void>
}

/** What a call left alive, by kind: `Timeout ×2` strings. */
export interface Leftovers {
  /** Alive and keeping the event loop alive: timers, open sockets, requests in flight, child processes. */
  readonly working: string[]
  /**
   * Alive but not keeping the process alive (`unref()`ed): an idle pooled connection, a cache timer.
   * A provider may hold these between calls; its `dispose()` must release them.
   */
  readonly idle: string[]
}

class CallRecord implements WatchedCall {
  readonly capability: string
  outcome: 'resolved' | 'rejected' | undefined
  readonly settled: Promise<void>
  readonly resources = new Map<number, WatchedResource>()
  readonly #markSettled: () => void

  constructor(capability: string) {
    this.capability = capability
    let markSettled!: () => void
    this.settled = new Promise<void>((resolve) => {
      markSettled = resolve
    })
    this.#markSettled = markSettled
  }

  finish(outcome: 'resolved' | 'rejected'): void {
    this.outcome = outcome
    this.#markSettled()
  }
}

/**
 * Follows the async resources (timers, sockets, requests, child processes) that handler invocations
 * create, directly or through anything they started, by the async_hooks trigger chain from a scope of
 * each invocation's own. Counting `process.getActiveResourcesInfo()` by kind before and after is not
 * enough: a timer of unrelated work (the core's, the test runner's) that ends meanwhile hides a timer
 * the call left behind, and one that starts meanwhile is blamed on the call.
 */
export class ResourceWatch {
  // asyncId → the call whose scope it descends from.
  readonly #owners = new Map<number, CallRecord>()
  readonly #unchecked: CallRecord[] = []
  readonly #listeners = new Set<() => void>()
  readonly #hook = createHook({
    init: (asyncId, type, triggerAsyncId, resource) => {
      const call = this.#owners.get(triggerAsyncId) ?? this.#owners.get(executionAsyncId())
      if (!call) return
      this.#owners.set(asyncId, call)
      if (BENIGN_RESOURCE_TYPES.has(type)) return
      const object = typeof resource === 'object' && resource !== null ? new WeakRef(resource) : undefined
      call.resources.set(asyncId, { type, object })
    },
    destroy: (asyncId) => {
      const call = this.#owners.get(asyncId)
      if (!call) return
      this.#owners.delete(asyncId)
      call.resources.delete(asyncId)
      // Any end among the call's resources (a close request finishing, too) may be the awaited one.
      for (const listener of this.#listeners) listener()
    },
  })
  #enabled = false

  /** Starts watching (idempotent). Calls run through {@link track} before this are not followed. */
  enable(): void {
    if (this.#enabled) return
    this.#enabled = true
    this.#hook.enable()
  }

  /** Stops watching (idempotent). */
  disable(): void {
    if (!this.#enabled) return
    this.#enabled = false
    this.#hook.disable()
  }

  /**
   * Runs `invoke` (a handler invocation) in a fresh async scope and follows what it creates. `result`
   * is `invoke`'s, unchanged; `call` is what the watch knows of it.
   */
  track<T>(capability: string, invoke: () => T | Promise<T>): { call: WatchedCall; result: Promise<T> } {
    const call = new CallRecord(capability)
    this.#unchecked.push(call)
    const scope = new AsyncResource('CapsuleContractCall')
    this.#owners.set(scope.asyncId(), call)
    const result = Promise.resolve().then(() => scope.runInAsyncScope(invoke))
    result.then(
      () => call.finish('resolved'),
      () => call.finish('rejected'),
    )
    // Nothing runs in the scope once the handler settled; forget it.
    call.settled.then(() => scope.emitDestroy())
    return { call, result }
  }

  /** The calls tracked since the last `takeCalls()`, oldest first. */
  takeCalls(): WatchedCall[] {
    return this.#unchecked.splice(0)
  }

  /**
   * Waits, without sleeping, until the calls have settled and their resources have had the chance to
   * go: up to `callsMs` for handlers still at work, a few loop turns for destroy hooks, then up to
   * `resourcesMs` for working resources (with `idle`, every resource) to end, returning as soon as
   * none is left.
   */
  async settle(
    calls: readonly WatchedCall[],
    { callsMs, resourcesMs, idle = false }: { callsMs: number; resourcesMs: number; idle?: boolean },
  ): Promise<void> {
    if (calls.some((call) => call.outcome === undefined))
      await this.#until(Promise.all(calls.map((call) => call.settled)), callsMs)
    for (let turn = 0; turn < DESTROY_TURNS; turn += 1) await new Promise((resolve) => setImmediate(resolve))
    const busy = () =>
      calls.some((call) => {
        const left = this.leftovers(call)
        return left.working.length > 0 || (idle && left.idle.length > 0)
      })
    if (!busy()) return
    let listener: (() => void) | undefined
    await this.#until(
      new Promise<void>((resolve) => {
        listener = () => {
          if (!busy()) resolve()
        }
        this.#listeners.add(listener)
      }),
      resourcesMs,
    )
    if (listener) this.#listeners.delete(listener)
  }

  /** What `call` created that is still alive, split into working and idle resources. */
  leftovers(call: WatchedCall): Leftovers {
    const working = new Map<string, number>()
    const idle = new Map<string, number>()
    for (const { type, object } of (call as CallRecord).resources.values()) {
      const state = stateOf(object)
      if (state === 'gone') continue
      const counts = state === 'working' ? working : idle
      counts.set(type, (counts.get(type) ?? 0) + 1)
    }
    return { working: describeCounts(working), idle: describeCounts(idle) }
  }

  // Resolves when `done` does or after `ms`, whichever is first; the bound's timer is cleared.
  async #until(done: Promise<unknown>, ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    await Promise.race([
      done,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms)
      }),
    ])
    clearTimeout(timer)
  }
}

// Whether a resource whose destroy hook has not run is still alive, and whether it keeps the loop alive
// (requests and other resources without hasRef() are work in flight).
function stateOf(object: WeakRef<object> | undefined): 'working' | 'idle' | 'gone' {
  const target = object?.deref() as { hasRef?: () => boolean } | undefined
  if (object && !target) return 'gone'
  if (typeof target?.hasRef === 'function') return target.hasRef() ? 'working' : 'idle'
  return 'working'
}

function describeCounts(counts: Map<string, number>): string[] {
  return [...counts].map(([type, count]) => `${type} ×${count}`)
}

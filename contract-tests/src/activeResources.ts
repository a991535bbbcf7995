import { AsyncResource, createHook, executionAsyncId } from 'node:async_hooks'

// Resource types that mean work still scheduled or in flight. Promises and nextTick objects settle on
// their own; FILEHANDLE objects are destroyed by the garbage collector even when closed properly.
// Resources that are bookkeeping, not work: promises and ticks, file-handle closes, undici's request
// record (destroyed only by the garbage collector, even after a request that completed) and the
// request object even a synchronous crypto.randomBytes() creates.
const IGNORED_TYPES = new Set([
  'PROMISE',
  'TickObject',
  'FILEHANDLE',
  'FILEHANDLECLOSEREQ',
  'UNDICI_REQUEST',
  'RANDOMBYTESREQUEST',
])

/** Watches the async resources one piece of work creates, to tell what is still alive once it settled. */
export interface ResourceTracker {
  /** Runs `fn` in a fresh async scope: every resource created from it, directly or not, is tracked. */
  run<T>(fn: () => T): T
  /** Stops tracking new resources; destructions are still seen. Call it once the work has settled. */
  seal(): void
  /** Tracked resources not yet destroyed, as `Timeout ×1` strings. */
  alive(): string[]
  /** Stops tracking (idempotent). */
  stop(): void
}

/**
 * Tracks the async resources (timers, sockets, requests, child processes) created by the work run
 * through `run()`, following the async_hooks trigger chain from a scope of its own. Counting
 * `process.getActiveResourcesInfo()` by kind before and after is not enough: a timer of unrelated
 * work that fires meanwhile hides a timer the call left behind.
 */
export function trackResources(): ResourceTracker {
  const scope = new AsyncResource('CapsuleContractCall')
  const ours = new Set<number>([scope.asyncId()])
  const alive = new Map<number, string>()
  const hook = createHook({
    init(asyncId, type, triggerAsyncId) {
      if (sealed || (!ours.has(triggerAsyncId) && !ours.has(executionAsyncId()))) return
      ours.add(asyncId)
      if (!IGNORED_TYPES.has(type)) alive.set(asyncId, type)
    },
    destroy(asyncId) {
      alive.delete(asyncId)
    },
  })
  hook.enable()
  let stopped = false
  let sealed = false
  return {
    run: (fn) => scope.runInAsyncScope(fn),
    seal() {
      sealed = true
    },
    alive() {
      const counts = new Map<string, number>()
      for (const type of alive.values()) counts.set(type, (counts.get(type) ?? 0) + 1)
      return [...counts].map(([type, count]) => `${type} ×${count}`)
    },
    stop() {
      if (stopped) return
      stopped = true
      hook.disable()
      scope.emitDestroy()
    },
  }
}

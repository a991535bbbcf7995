import { afterEach } from 'vitest'
import type { ContractContext } from '../contractContext.js'
import type { WatchedCall } from '../resourceWatch.js'
import { verifies } from '../verifies.js'
import { assertNoProblems } from './requirementHelpers.js'

/** How long a handler still at work when its requirement ends gets to settle (as an aborted call does). */
const CALL_SETTLE_MS = 1_000
/** How long resources of settled calls get to end; each end is awaited as an event, not slept on. */
const RESOURCE_SETTLE_MS = 100

/** What the calls of one requirement left running. */
interface Leak {
  /** `[id]` of the test that made the calls. */
  readonly requirement: string
  readonly capability: string
  readonly state: 'succeeded' | 'failed' | 'still running'
  readonly working: readonly string[]
}

/**
 * Registers the leak checks: after every test of the contract, the handler invocations it made (direct
 * and from Python) get a short, event-driven settle, then whatever they left is recorded. Working
 * resources (ref'd timers, open sockets, requests, child processes, handlers still running) are leaks,
 * reported per capability by `leaks.released-after-calls`; idle ones (unref'd) may be held between
 * calls and must be gone after `dispose()`, which `leaks.released-by-dispose` calls. Register it after
 * every other family but coverage, so its tests run once everything else has.
 */
export function registerLeakRequirements(contract: ContractContext): void {
  const leaks: Leak[] = []
  const held: Array<{ requirement: string; call: WatchedCall }> = []

  afterEach(async (context) => {
    const calls = contract.watch.takeCalls()
    if (calls.length === 0) return
    await contract.watch.settle(calls, { callsMs: CALL_SETTLE_MS, resourcesMs: RESOURCE_SETTLE_MS })
    const requirement = requirementOf(context.task.name)
    for (const call of calls) {
      const { working, idle } = contract.watch.leftovers(call)
      const state =
        call.outcome === undefined ? 'still running' : call.outcome === 'resolved' ? 'succeeded' : 'failed'
      if (state === 'still running' || working.length > 0)
        leaks.push({ requirement, capability: call.capability, state, working })
      else if (idle.length > 0) held.push({ requirement, call })
    }
  })

  for (const [name] of contract.capabilities) {
    verifies(
      'leaks.released-after-calls',
      `${name}: no call of any requirement left work running once it settled`,
      () => {
        assertNoProblems(describeLeaks(leaks.filter((leak) => leak.capability === name)))
      },
    )
  }

  verifies(
    'leaks.released-by-dispose',
    'provider: dispose() releases what it held between calls',
    async () => {
      const hasDispose = typeof contract.provider.dispose === 'function'
      await contract.dispose()
      const calls = held.map(({ call }) => call)
      // A second, as for a handler at work: an idle one-shot timer may end on its own shortly after
      // (undici's shared clock timer stops within half a second of its last connection closing).
      await contract.watch.settle(calls, { callsMs: 0, resourcesMs: CALL_SETTLE_MS, idle: true })
      const alive = held.flatMap(({ requirement, call }) => {
        const { working, idle } = contract.watch.leftovers(call)
        const left = [...working, ...idle]
        return left.length > 0 ? [`${call.capability} (held since ${requirement}): ${left.join(', ')}`] : []
      })
      if (alive.length === 0) return
      const what = [...new Set(alive)].join('; ')
      assertNoProblems([
        hasDispose
          ? `still alive after dispose(): ${what}`
          : `the provider has no dispose(), yet its calls left idle resources behind: ${what}`,
      ])
    },
  )
}

// `[id] scope: title` → `[id]`; the test name of anything else, unchanged.
function requirementOf(testName: string): string {
  return /^(\[[^\]]+\]) /.exec(testName)?.[1] ?? testName
}

// One line per requirement and kind of leak: `after [e2e.sync-call], 1 call that succeeded left Timeout ×1 running`.
function describeLeaks(leaks: readonly Leak[]): string[] {
  const groups = new Map<string, { leak: Leak; count: number }>()
  for (const leak of leaks) {
    const key = `${leak.requirement}\u0000${leak.state}\u0000${leak.working.join(', ')}`
    const group = groups.get(key)
    if (group) group.count += 1
    else groups.set(key, { leak, count: 1 })
  }
  return [...groups.values()].map(({ leak, count }) => {
    const calls = count === 1 ? '1 call' : `${count} calls`
    if (leak.state === 'still running') {
      const also = leak.working.length > 0 ? ` (with ${leak.working.join(', ')})` : ''
      return `after ${leak.requirement}, ${calls} had not settled ${CALL_SETTLE_MS} ms after the test ended${also}`
    }
    const each = count === 1 ? '' : ' each'
    return `after ${leak.requirement}, ${calls} that ${leak.state}${each} left ${leak.working.join(', ')} running`
  })
}

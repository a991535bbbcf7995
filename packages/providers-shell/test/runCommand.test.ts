import { AsyncResource, createHook, executionAsyncId } from 'node:async_hooks'
import { describe, expect, test } from 'vitest'
import { newRunToken, type RunOutcome, runCommand } from '../src/runCommand.js'

// runCommand must leave nothing scheduled once its promise settles: the provider contract's
// cancel.abort-within-1s counts timers a call leaves behind, and a host closing a Capsule right after
// a command expects no stray callbacks.

/** Runs `fn` in its own async scope and reports the timers it created that are still pending afterwards. */
async function pendingTimersAfter(fn: () => Promise<unknown>): Promise<number> {
  const scope = new AsyncResource('RunCommandTest')
  const ours = new Set([scope.asyncId()])
  const timers = new Set<number>()
  const hook = createHook({
    init(asyncId, type, triggerAsyncId) {
      if (!ours.has(triggerAsyncId) && !ours.has(executionAsyncId())) return
      ours.add(asyncId)
      if (type === 'Timeout') timers.add(asyncId)
    },
    destroy(asyncId) {
      timers.delete(asyncId)
    },
  }).enable()
  try {
    await scope.runInAsyncScope(fn)
    // Destroy hooks arrive a turn after a timer is cleared.
    for (let turn = 0; turn < 3; turn += 1) await new Promise((resolve) => setImmediate(resolve))
    return timers.size
  } finally {
    hook.disable()
    scope.emitDestroy()
  }
}

function run(program: string, args: string[], signal = new AbortController().signal): Promise<RunOutcome> {
  return runCommand({
    file: `/usr/bin/${program}`,
    args,
    cwd: '/',
    env: { PATH: '/usr/bin:/bin' },
    runToken: newRunToken(),
    timeoutMs: 10_000,
    maxOutputBytes: 1024,
    signal,
  })
}

describe('runCommand', () => {
  test('leaves no timer pending once a command has exited', async () => {
    let outcome: RunOutcome | undefined
    const pending = await pendingTimersAfter(async () => {
      outcome = await run('printf', ['done'])
    })
    expect(outcome?.stdout.toString()).toBe('done')
    expect(pending).toBe(0)
  })

  test('leaves no timer pending once an aborted command was killed', async () => {
    const controller = new AbortController()
    let outcome: RunOutcome | undefined
    const pending = await pendingTimersAfter(async () => {
      const running = run('sleep', ['5'], controller.signal)
      setTimeout(() => controller.abort(), 50)
      outcome = await running
    })
    expect(outcome?.killed).toBe('abort')
    expect(pending).toBe(0)
  })
})

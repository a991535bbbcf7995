// The shared Capsule harness of core tests. Apart from fixtures.ts because it needs vitest: fixtures.ts is
// also imported by child processes the tests start (the hostile host), which run outside vitest.
import { afterEach, expect } from 'vitest'
import {
  Capsule,
  type CapsuleOptions,
  type ExecuteOptions,
  type ExecutionResult,
  type Session,
} from '../src/index.js'
import { defaultPython } from './pythons.js'

/**
 * The shared Capsule harness of core tests: Capsules opened through it are unsandboxed on the default test
 * interpreter (unless the options say otherwise), closed after each test, and checked to leave no promise
 * pending once closed.
 */
export function capsuleHarness(defaults: CapsuleOptions = {}) {
  const capsules: Capsule[] = []
  afterEach(async () => {
    const closing = capsules.splice(0)
    await Promise.all(closing.map((capsule) => capsule.close()))
    for (const capsule of closing) expect(capsule.promises.list()).toEqual([])
  })
  const capsule = (options: CapsuleOptions = {}): Capsule => {
    const opened = new Capsule({ sandbox: 'none', python: defaultPython.python, ...defaults, ...options })
    capsules.push(opened)
    return opened
  }
  return {
    capsule,
    /** A Capsule and its first session. */
    async open(options: CapsuleOptions = {}): Promise<{ capsule: Capsule; session: Session }> {
      const opened = capsule(options)
      return { capsule: opened, session: await opened.session() }
    },
  }
}

/**
 * Starts `code` with a line printed first, and resolves once that line has reached the host: the cell is
 * running (no sleep needed). `code` must not print before it.
 */
export async function startCell(
  session: Session,
  code: string,
  options: ExecuteOptions = {},
): Promise<{ result: Promise<ExecutionResult> }> {
  const execution = session.execute(`print("capsule-test: started", flush=True)\n${code}`, options)
  const iterator = execution[Symbol.asyncIterator]()
  for (;;) {
    const next = await iterator.next()
    if (next.done) break
    if (next.value.type === 'stdout' && next.value.text.includes('capsule-test: started')) break
  }
  // Keep reading so the execution never waits on its consumer.
  void (async () => {
    try {
      for (;;) if ((await iterator.next()).done) return
    } catch {
      // The result promise reports the failure.
    }
  })()
  return { result: execution.result }
}

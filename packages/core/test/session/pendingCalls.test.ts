import { CapabilityError, defineCapability, defineProvider } from '@capsule/provider-sdk'
import { afterEach, describe, expect, test } from 'vitest'
import { z } from 'zod'
import { Capsule, type CapsuleOptions, type Session } from '../../src/index.js'
import { defaultPython } from '../pythons.js'

// A capability that waits until its call is aborted, telling the test when it started and when it was
// aborted; and one that answers at once.
function slowProvider() {
  // One promise per tag, whichever comes first: the handler starting or the test waiting for it.
  const started = new Map<string, { promise: Promise<void>; resolve: () => void }>()
  const entry = (tag: string) => {
    let found = started.get(tag)
    if (!found) {
      let resolve!: () => void
      const promise = new Promise<void>((done) => {
        resolve = done
      })
      found = { promise, resolve }
      started.set(tag, found)
    }
    return found
  }
  const aborted: string[] = []
  const waitFor = (tag: string) => entry(tag).promise
  const provider = defineProvider({
    name: 'slow',
    version: '1.0.0',
    capabilities: [
      defineCapability({
        name: 'wait',
        level: 'sandbox',
        description: 'Wait until the call is aborted.',
        input: z.object({ tag: z.string() }),
        output: z.string(),
        handler: ({ tag }, ctx) =>
          new Promise<string>((_, reject) => {
            ctx.signal.addEventListener('abort', () => {
              aborted.push(tag)
              reject(new CapabilityError('CANCELLED', 'aborted'))
            })
            entry(tag).resolve()
          }),
      }),
      defineCapability({
        name: 'quick',
        level: 'sandbox',
        description: 'Answer at once.',
        input: z.object({}),
        output: z.string(),
        handler: () => 'quick',
      }),
    ],
  })
  return { provider, waitFor, aborted }
}

const capsules: Capsule[] = []
async function open(options: CapsuleOptions): Promise<{ capsule: Capsule; session: Session }> {
  const capsule = new Capsule({
    sandbox: 'none',
    python: defaultPython.python,
    level: 'restricted',
    ...options,
  })
  capsules.push(capsule)
  return { capsule, session: await capsule.session() }
}
afterEach(async () => {
  await Promise.all(capsules.splice(0).map((capsule) => capsule.close()))
})

// An input() that nobody answers yet: the handler says when it was asked.
function inputs() {
  const asked: Array<() => void> = []
  let answer: string | undefined
  return {
    onInput: () => {
      asked.shift()?.()
      return answer
    },
    nextAsk: () => new Promise<void>((resolve) => asked.push(resolve)),
    answerWith: (text: string) => {
      answer = text
    },
  }
}

describe('restart() with calls pending', () => {
  test('cancels the running cell’s call, ends the cell as interrupted, and the new worker’s first call works', async () => {
    const slow = slowProvider()
    const { capsule, session } = await open({ providers: [slow.provider], limits: { interruptGraceMs: 200 } })
    let settled = false
    const running = session.run('wait(tag="cell")').finally(() => {
      settled = true
    })
    await slow.waitFor('cell')
    await session.restart()
    expect(settled).toBe(true)
    expect(slow.aborted).toEqual(['cell'])
    expect(await running).toMatchObject({ status: 'interrupted', stateLost: true })
    expect(capsule.promises.list()).toEqual([])
    // Outlives the old execution's interrupt grace: nothing of the old worker's reaches the new one.
    const after = await session.run('import time\ntime.sleep(0.5)\nquick()')
    expect(after.value?.['text/plain']).toBe("'quick'")
    expect(session.info()).toMatchObject({ restarts: 1, pendingCalls: 0, pendingCallBytes: 0 })
  })

  test('cancels calls and an input() from background threads, and the new worker’s ids do not collide', async () => {
    const slow = slowProvider()
    const asking = inputs()
    const { capsule, session } = await open({ providers: [slow.provider], onInput: asking.onInput })
    const asked = asking.nextAsk()
    await session.run(
      'import threading\nthreading.Thread(target=lambda: wait(tag="bg"), daemon=True).start()\nthreading.Thread(target=lambda: input("name? "), daemon=True).start()',
    )
    await Promise.all([slow.waitFor('bg'), asked])
    expect(session.info().pendingCalls).toBe(2)
    await session.restart()
    expect(slow.aborted).toEqual(['bg'])
    expect(capsule.promises.list()).toEqual([])
    // The new worker numbers its calls from 1 again: they are its own, not the old worker's.
    asking.answerWith('alice')
    const result = await session.run('[quick(), input("name? "), quick()]')
    expect(result.value?.['text/plain']).toBe("['quick', 'alice', 'quick']")
    expect(capsule.promises.list()).toEqual([])
  })
})

describe('close() with calls pending', () => {
  test('cancels what the worker still has open once the cells are done, and leaves no promise behind', async () => {
    const slow = slowProvider()
    const asking = inputs()
    const { capsule, session } = await open({ providers: [slow.provider], onInput: asking.onInput })
    const asked = asking.nextAsk()
    await session.run(
      'import threading\nthreading.Thread(target=lambda: wait(tag="bg"), daemon=True).start()\nthreading.Thread(target=lambda: input(), daemon=True).start()',
    )
    await Promise.all([slow.waitFor('bg'), asked])
    await session.close()
    expect(slow.aborted).toEqual(['bg'])
    expect(capsule.promises.list()).toEqual([])
    expect(session.state).toBe('closed')
  })

  test('lets a running cell’s call finish, then closes', async () => {
    const asking = inputs()
    const { capsule, session } = await open({ onInput: asking.onInput })
    const asked = asking.nextAsk()
    const running = session.run('input("last words? ")')
    await asked
    const closing = session.close()
    const pending = capsule.promises.list().find((record) => record.kind === 'input')
    capsule.promises.resolve(pending!.id, 'goodbye')
    expect((await running).value?.['text/plain']).toBe("'goodbye'")
    await closing
    expect(capsule.promises.list()).toEqual([])
  })
})

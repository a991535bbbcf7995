import { defineCapability, defineProvider } from '@capsule/provider-sdk'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { z } from 'zod'
import { Capsule, type CapsuleOptions, probeSandbox, type Session } from '../../src/index.js'
import { defaultPython, sandboxedPython } from '../pythons.js'

const probe = await probeSandbox()
const noSandbox = probe.available ? '' : ` (skipped: bubblewrap is unavailable: ${probe.message})`

const noop = defineProvider({
  name: 'flood',
  version: '1.0.0',
  capabilities: [
    defineCapability({
      name: 'noop',
      level: 'sandbox',
      description: 'Return at once.',
      input: z.object({}),
      output: z.null(),
      handler: () => null,
    }),
  ],
})

async function withSession<T>(options: CapsuleOptions, fn: (session: Session) => Promise<T>): Promise<T> {
  const capsule = new Capsule({ python: sandboxedPython, level: 'standard', ...options })
  try {
    return await fn(await capsule.session())
  } finally {
    await capsule.close()
  }
}

// Each limit is hit on purpose; the result names what happened and the host stays healthy.
describe.skipIf(!probe.available)(`limits inside the sandbox${noSandbox}`, () => {
  test('a fork bomb is contained by the process limit and reported in the result', async () => {
    await withSession({ limits: { maxProcesses: 24 } }, async (session) => {
      const result = await session.run(
        'import os, time\nkids = []\nfor i in range(300):\n    pid = os.fork()\n    if pid == 0:\n        time.sleep(30)\n        os._exit(0)\n    kids.append(pid)',
      )
      expect(result.status).toBe('error')
      expect(result.error?.ename).toBe('BlockingIOError')
      expect((await session.run('len(kids) < 24')).value?.['text/plain']).toBe('True')
    })
  })

  test('open files past the limit fail with EMFILE', async () => {
    await withSession({ limits: { maxOpenFiles: 64 } }, async (session) => {
      const result = await session.run('fs = [open("/dev/null") for _ in range(1000)]')
      expect(result.error?.evalue).toMatch(/Too many open files/)
      expect((await session.run('1')).status).toBe('ok')
    })
  })

  test('a file past the size limit fails with EFBIG', async () => {
    await withSession({ limits: { maxFileSizeMb: 1 } }, async (session) => {
      const result = await session.run('open("/tmp/big", "wb").write(b"x" * (2 << 20))')
      expect(result.error?.evalue).toMatch(/File too large/)
    })
  })

  test('the CPU limit kills the worker and names the limit', async () => {
    await withSession({ limits: { cpuSeconds: 1 } }, async (session) => {
      const error = await session.run('while True:\n    pass').catch((e) => e)
      expect(error).toMatchObject({
        code: 'LIMIT_EXCEEDED',
        details: expect.objectContaining({ limit: 'cpu' }),
      })
      expect((await session.run('"restarted"')).value?.['text/plain']).toBe("'restarted'")
    })
  })
})

describe('floods leave the host bounded and responsive', () => {
  let bystander: Capsule
  let other: Session
  beforeAll(async () => {
    bystander = new Capsule({ python: defaultPython.python, sandbox: 'none' })
    other = await bystander.session()
  })
  afterAll(() => bystander.close())

  // The latency of an unrelated session while `flood` runs: the host event loop must keep serving it.
  async function bystanderLatency(flood: Promise<unknown>): Promise<number> {
    let worst = 0
    let done = false
    flood.finally(() => {
      done = true
    })
    while (!done) {
      const started = performance.now()
      await other.run('1')
      worst = Math.max(worst, performance.now() - started)
    }
    return worst
  }

  test('100 MB of print keeps host memory bounded by the output cap', async () => {
    await withSession({ sandbox: 'none', limits: { maxOutputBytes: 4 << 20 } }, async (session) => {
      const before = process.memoryUsage().rss
      const flood = session.run('for _ in range(1_000_000):\n    print("x" * 99)\n"done"')
      const worst = await bystanderLatency(flood)
      const result = await flood
      expect(result.value?.['text/plain']).toBe("'done'")
      expect(result.outputTruncatedBytes).toBeGreaterThan(90 << 20)
      expect(process.memoryUsage().rss - before).toBeLessThan(200 << 20)
      // Generous: the point is that the loop is not starved (figures are in bench/).
      expect(worst).toBeLessThan(2000)
    })
  })

  test('100,000 capability calls in a loop keep host memory bounded', async () => {
    await withSession(
      { sandbox: 'none', providers: [noop], limits: { maxPendingCalls: 256 } },
      async (session) => {
        const before = process.memoryUsage().rss
        const flood = session.run(
          'import asyncio\nfor _ in range(10):\n    await asyncio.gather(*[noop() for _ in range(10_000)])\nfor _ in range(1000):\n    noop()\n"done"',
        )
        const worst = await bystanderLatency(flood)
        expect((await flood).value?.['text/plain']).toBe("'done'")
        expect(process.memoryUsage().rss - before).toBeLessThan(300 << 20)
        expect(worst).toBeLessThan(2000)
      },
    )
  })
})

import { binary, CapabilityError, defineCapability, defineProvider } from '@capsule/provider-sdk'
import { z } from 'zod'
import type { Clock } from '../src/util/clock.js'

/** A provider with one capability per level and a few behaviours tests need. */
export function testProvider(log: string[] = []) {
  return defineProvider({
    name: 'test',
    version: '1.0.0',
    capabilities: [
      defineCapability({
        name: 'echo',
        level: 'sandbox',
        description: 'Return the text.',
        input: z.object({ text: z.string().describe('what to echo'), times: z.number().int().default(1) }),
        output: z.string(),
        handler: ({ text, times }) => {
          log.push(`echo:${text}`)
          return text.repeat(times)
        },
      }),
      defineCapability({
        name: 'read',
        level: 'restricted',
        description: 'A restricted capability.',
        input: z.object({}),
        output: z.string(),
        handler: () => 'read',
      }),
      defineCapability({
        name: 'write',
        level: 'standard',
        description: 'A standard capability.',
        input: z.object({ data: z.union([z.string(), binary()]) }),
        output: z.number(),
        secretArgs: ['data'],
        handler: ({ data }) => {
          log.push('write')
          return typeof data === 'string' ? data.length : data.byteLength
        },
      }),
      defineCapability({
        name: 'run',
        level: 'trusted',
        description: 'A trusted capability.',
        input: z.object({}),
        output: z.string(),
        handler: () => 'ran',
      }),
      defineCapability({
        name: 'slow',
        level: 'sandbox',
        description: 'Wait, honouring the abort signal.',
        input: z.object({ ms: z.number().int().min(0), value: z.any().optional() }),
        output: z.any(),
        handler: ({ ms, value }, ctx) =>
          new Promise((resolve, reject) => {
            const timer = setTimeout(() => resolve(value ?? ms), ms)
            ctx.signal.addEventListener('abort', () => {
              clearTimeout(timer)
              log.push('slow:aborted')
              reject(new CapabilityError('CANCELLED', 'aborted'))
            })
          }),
      }),
      defineCapability({
        name: 'fail',
        level: 'sandbox',
        description: 'Fail with the given code, or crash.',
        input: z.object({ code: z.string() }),
        output: z.null(),
        handler: ({ code }) => {
          if (code === 'CRASH') throw new Error('secret internal detail /etc/shadow')
          throw new CapabilityError(code as never, `failed with ${code}`)
        },
      }),
      defineCapability({
        name: 'liar',
        level: 'sandbox',
        description: 'Returns a value that breaks its output schema.',
        input: z.object({}),
        output: z.string(),
        handler: () => 42 as unknown as string,
      }),
      defineCapability({
        name: 'steps',
        level: 'sandbox',
        description: 'Report progress, then finish.',
        input: z.object({ n: z.number().int().min(1).max(100) }),
        output: z.number(),
        handler: ({ n }, ctx) => {
          for (let done = 1; done <= n; done += 1) ctx.progress({ done, total: n, unit: 'steps' })
          return n
        },
      }),
      defineCapability({
        name: 'quick',
        level: 'sandbox',
        description: 'A capability with its own short deadline.',
        input: z.object({}),
        output: z.null(),
        timeoutMs: 50,
        handler: (_, ctx) =>
          new Promise((_resolve, reject) => {
            ctx.signal.addEventListener('abort', () => reject(new CapabilityError('CANCELLED', 'aborted')))
          }),
      }),
      defineCapability({
        name: 'blob',
        level: 'sandbox',
        description: 'Return n bytes.',
        input: z.object({ n: z.number().int().min(0) }),
        output: binary(),
        handler: ({ n }) => new Uint8Array(n).fill(7),
      }),
    ],
  })
}

/** A clock the test advances by hand: timers fire in deadline order as `advance` passes them. */
export interface ManualClock extends Clock {
  advance(ms: number): void
  /** Timers armed and not yet fired or cleared. */
  readonly pending: number
}

/** A {@link ManualClock} starting at `start` (epoch ms). */
export function manualClock(start = 1_000_000): ManualClock {
  let now = start
  let seq = 0
  const timers = new Map<number, { at: number; callback: () => void }>()
  return {
    now: () => now,
    setTimeout(callback, ms) {
      seq += 1
      timers.set(seq, { at: now + ms, callback })
      return seq
    },
    clearTimeout(handle) {
      timers.delete(handle as number)
    },
    advance(ms) {
      const until = now + ms
      for (;;) {
        let next: [number, { at: number; callback: () => void }] | undefined
        for (const entry of timers)
          if (entry[1].at <= until && (!next || entry[1].at < next[1].at)) next = entry
        if (!next) break
        timers.delete(next[0])
        now = next[1].at
        next[1].callback()
      }
      now = until
    },
    get pending() {
      return timers.size
    },
  }
}

/** Waits, turn by turn of the event loop (no fixed sleep), until `predicate` holds; fails after `timeoutMs`. */
export async function until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise((resolve) => setImmediate(resolve))
  }
}

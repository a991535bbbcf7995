import { describe, expect, test } from 'vitest'
import { Execution, MAX_UNDELIVERED_CALL_EVENTS } from '../../src/session/execution.js'
import { OutputCap } from '../../src/session/outputCap.js'

const done = {
  executionCount: 1,
  status: 'ok' as const,
  value: null,
  error: null,
  outputTruncatedBytes: 0,
  stateLost: false,
}

async function drain(execution: Execution) {
  const events = []
  for await (const event of execution) events.push(event)
  return events
}

describe('Execution', () => {
  test('output a consumer has not read yet joins its last event, so a flood of tiny writes is not a flood of events', async () => {
    const execution = new Execution(
      'e1',
      'code',
      true,
      new OutputCap({ maxOutputBytes: 1 << 20, maxDisplayOutputBytes: 1 }),
    )
    for (let i = 0; i < 100_000; i += 1) execution.pushStream('stdout', 'x')
    execution.pushStream('stderr', 'warn')
    execution.pushStream('stdout', 'y')
    const result = execution.complete(done)
    const events = await drain(execution)
    expect(events.map((event) => event.type)).toEqual(['stdout', 'stderr', 'stdout', 'result'])
    expect(events[0]).toEqual({ type: 'stdout', text: 'x'.repeat(100_000) })
    expect(result.stdout).toBe(`${'x'.repeat(100_000)}y`)
  })

  test('a consumer that keeps up still sees each write as it comes', async () => {
    const execution = new Execution('e1', 'code', true)
    const iterator = execution[Symbol.asyncIterator]()
    execution.pushStream('stdout', 'a')
    expect((await iterator.next()).value).toEqual({ type: 'stdout', text: 'a' })
    execution.pushStream('stdout', 'b')
    expect((await iterator.next()).value).toEqual({ type: 'stdout', text: 'b' })
  })

  test('at most MAX_UNDELIVERED_CALL_EVENTS call events wait for a consumer; the result still comes', async () => {
    const execution = new Execution('e1', 'code', true)
    for (let i = 0; i < MAX_UNDELIVERED_CALL_EVENTS + 500; i += 1)
      execution.push({ type: 'call', callId: `c${i}`, capability: 'x.y', args: {} })
    execution.complete(done)
    const events = await drain(execution)
    expect(events.filter((event) => event.type === 'call')).toHaveLength(MAX_UNDELIVERED_CALL_EVENTS)
    expect(events.at(-1)?.type).toBe('result')
  })
})

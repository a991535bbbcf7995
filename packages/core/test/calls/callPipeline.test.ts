import { CapabilityError } from '@capsule/provider-sdk'
import { describe, expect, test } from 'vitest'
import { type AuditEntry, AuditLog } from '../../src/audit/auditLog.js'
import { type CallRequest, CapabilityInvoker } from '../../src/capabilities/capabilityInvoker.js'
import { CapabilityRegistry } from '../../src/capabilities/capabilityRegistry.js'
import { silentLogger } from '../../src/di/container.js'
import { MemoryPromiseStore } from '../../src/promises/promiseStore.js'
import { SecurityPolicy } from '../../src/security/securityPolicy.js'
import { systemClock } from '../../src/util/clock.js'
import { testProvider } from '../fixtures.js'

function setup(
  options: {
    level?: 'sandbox' | 'standard'
    deny?: string[]
    failingAudit?: boolean
    callTimeoutMs?: number
  } = {},
) {
  const log: string[] = []
  const entries: AuditEntry[] = []
  const registry = new CapabilityRegistry([testProvider(log)])
  const policy = SecurityPolicy.create(registry, { level: options.level ?? 'standard', deny: options.deny })
  const store = new MemoryPromiseStore(systemClock)
  const audit = new AuditLog([
    {
      write: (entry) => {
        if (options.failingAudit) throw new Error('disk full')
        entries.push(entry)
      },
    },
  ])
  const invoker = new CapabilityInvoker({
    registry,
    store,
    audit,
    clock: systemClock,
    logger: silentLogger,
    callTimeoutMs: options.callTimeoutMs ?? 5000,
  })
  let seq = 0
  const call = (capability: string, args: Record<string, unknown>, extra: Partial<CallRequest> = {}) =>
    invoker.invoke({
      callId: `c${++seq}`,
      capability,
      args,
      sessionId: 's1',
      executionId: 'e1',
      level: policy.level,
      policy,
      ...extra,
    })
  return { call, log, entries, store }
}

describe('CapabilityInvoker', () => {
  test('runs an allowed call and audits the decision and the outcome', async () => {
    const { call, entries, store } = setup()
    expect(await call('test.echo', { text: 'hi', times: 2 })).toEqual({ ok: true, value: 'hihi' })
    expect(entries.map((e) => [e.type, e.decision ?? e.state])).toEqual([
      ['decision', 'allowed'],
      ['outcome', 'resolved'],
    ])
    expect(entries[0]!.rule).toBe('level:standard')
    expect(store.size).toBe(0)
  })

  test('denies a capability the level does not grant, and its handler never runs', async () => {
    const { call, log, entries } = setup({ level: 'sandbox' })
    const outcome = await call('test.write', { data: 'x' })
    expect(outcome).toMatchObject({ ok: false, code: 'DENIED' })
    expect(log).toEqual([])
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({ decision: 'denied', rule: 'not-granted:sandbox' })
  })

  test('denies an unknown capability', async () => {
    const { call } = setup()
    expect(await call('evil.exec', {})).toMatchObject({
      ok: false,
      code: 'DENIED',
      message: expect.stringContaining('unknown capability'),
    })
  })

  test('rejects invalid arguments before the handler runs', async () => {
    const { call, log } = setup()
    const outcome = await call('test.echo', { text: 42 })
    expect(outcome).toMatchObject({
      ok: false,
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('text'),
    })
    expect(log).toEqual([])
  })

  test('passes CapabilityError codes through and hides other errors as INTERNAL', async () => {
    const { call, entries } = setup()
    expect(await call('test.fail', { code: 'NOT_FOUND' })).toEqual({
      ok: false,
      code: 'NOT_FOUND',
      message: 'failed with NOT_FOUND',
    })
    const crash = await call('test.fail', { code: 'CRASH' })
    expect(crash).toEqual({ ok: false, code: 'INTERNAL', message: 'internal error in test.fail' })
    expect(JSON.stringify(crash)).not.toContain('shadow')
    expect(entries.at(-1)?.errorDetail).toContain('/etc/shadow')
  })

  test('rejects an output that breaks the output schema as INTERNAL', async () => {
    const { call } = setup()
    expect(await call('test.liar', {})).toMatchObject({ ok: false, code: 'INTERNAL' })
  })

  test('times out a slow call at its deadline and aborts the handler', async () => {
    const { call, log, store } = setup({ callTimeoutMs: 50 })
    const outcome = await call('test.slow', { ms: 10_000 })
    expect(outcome).toMatchObject({ ok: false, code: 'TIMEOUT' })
    await new Promise((resolve) => setImmediate(resolve))
    expect(log).toContain('slow:aborted')
    expect(store.size).toBe(0)
  })

  test("a capability's own timeoutMs overrides callTimeoutMs", async () => {
    const { call } = setup({ callTimeoutMs: 60_000 })
    const started = Date.now()
    expect(await call('test.quick', {})).toMatchObject({ ok: false, code: 'TIMEOUT' })
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  test('cancelling the call through its promise reaches the running handler', async () => {
    const { call, log, entries, store } = setup()
    const pending = call('test.slow', { ms: 10_000 }, { callId: 'to-cancel' })
    setTimeout(
      () => store.settle('to-cancel', 'cancelled', { error: new CapabilityError('CANCELLED', 'stop') }),
      20,
    )
    expect(await pending).toMatchObject({ ok: false, code: 'CANCELLED' })
    expect(log).toContain('slow:aborted')
    expect(entries.at(-1)).toMatchObject({ type: 'outcome', state: 'cancelled' })
  })

  test('fails closed when the audit sink throws: the handler never runs', async () => {
    const { call, log } = setup({ failingAudit: true })
    expect(await call('test.echo', { text: 'x' })).toMatchObject({ ok: false, code: 'UNAVAILABLE' })
    expect(log).toEqual([])
  })

  test('redacts secret arguments in the audit log', async () => {
    const { call, entries } = setup()
    await call('test.write', { data: 'hunter2' })
    expect(JSON.stringify(entries)).not.toContain('hunter2')
    expect(entries[0]!.args).toEqual({ data: '[redacted]' })
  })

  test('a call settled from outside resolves without waiting for the handler; the late result is dropped', async () => {
    const { call, store } = setup()
    const pending = call('test.slow', { ms: 200, value: 'late' }, { callId: 'external-1' })
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(store.get('external-1')?.state).toBe('pending')
    store.settle('external-1', 'resolved', { value: 'early' })
    expect(await pending).toEqual({ ok: true, value: 'early' })
    await new Promise((resolve) => setTimeout(resolve, 250))
    expect(store.size).toBe(0)
  })
})

import { CapabilityError, defineCapability, defineProvider } from '@capsule/provider-sdk'
import { describe, expect, test } from 'vitest'
import { z } from 'zod'
import { type AuditEntry, AuditLog } from '../../src/audit/auditLog.js'
import { CallDirectory } from '../../src/calls/callDirectory.js'
import { CallPipeline } from '../../src/calls/callPipeline.js'
import type { CallRecorder } from '../../src/calls/callRecorder.js'
import { type CallOutcome, PendingCall } from '../../src/calls/pendingCall.js'
import { CapabilityRegistry } from '../../src/capabilities/capabilityRegistry.js'
import { silentLogger } from '../../src/di/container.js'
import { SecurityPolicy } from '../../src/security/securityPolicy.js'
import { manualClock, testProvider } from '../fixtures.js'

function setup(
  options: {
    level?: 'sandbox' | 'standard'
    deny?: string[]
    failingAudit?: boolean
    noSinks?: boolean
    callTimeoutMs?: number
    recorder?: CallRecorder
  } = {},
) {
  const log: string[] = []
  const entries: AuditEntry[] = []
  const clock = manualClock()
  const registry = new CapabilityRegistry([testProvider(log)])
  const policy = SecurityPolicy.create(registry, { level: options.level ?? 'standard', deny: options.deny })
  const audit = new AuditLog(
    options.noSinks
      ? []
      : [
          {
            write: (entry) => {
              if (options.failingAudit) throw new Error('disk full')
              entries.push(entry)
            },
          },
        ],
  )
  const pipeline = new CallPipeline({
    audit,
    clock,
    logger: silentLogger,
    callTimeoutMs: options.callTimeoutMs ?? 5000,
    recorder: options.recorder,
  })
  const directory = new CallDirectory()
  let seq = 0
  const start = (capability: string, args: Record<string, unknown>) => {
    seq += 1
    const call = new PendingCall({
      id: `c${seq}`,
      protocolId: seq,
      capability,
      args,
      frameBytes: 10,
      sessionId: 's1',
      execution: null,
      createdAt: clock.now(),
    })
    directory.add(call)
    const outcome = Promise.resolve(pipeline.invoke(call, policy)).finally(() => directory.remove(call))
    return { call, outcome }
  }
  const call = (capability: string, args: Record<string, unknown>) => start(capability, args).outcome
  return { call, start, log, entries, clock, directory, pipeline }
}

describe('CallPipeline', () => {
  test('runs an allowed call and audits the decision and the outcome', async () => {
    const { call, entries, pipeline } = setup()
    expect(await call('test.echo', { text: 'hi', times: 2 })).toEqual({ ok: true, value: 'hihi' })
    expect(entries.map((e) => [e.type, e.decision ?? e.state])).toEqual([
      ['decision', 'allowed'],
      ['outcome', 'resolved'],
    ])
    expect(entries[0]!.rule).toBe('level:standard')
    expect(entries[1]!.bytesIn).toBe(10)
    expect(pipeline.pendingDeadlines).toBe(0)
  })

  test('answers a handler that returns a plain value in the same turn, with no deadline armed', () => {
    const { start, clock } = setup()
    const { call } = start('test.echo', { text: 'now' })
    expect(call.settlement).toEqual({ value: 'now' })
    expect(clock.pending).toBe(0)
  })

  test('denies a capability the level does not grant, and its handler never runs', async () => {
    const { call, log, entries } = setup({ level: 'sandbox' })
    const outcome = await call('test.write', { data: 'x' })
    expect(outcome).toMatchObject({ ok: false, code: 'DENIED' })
    expect(log).toEqual([])
    expect(entries).toHaveLength(1)
    expect(entries[0]).toMatchObject({ decision: 'denied', rule: 'not-granted:sandbox' })
  })

  test('a denied call still has its secret arguments redacted in the audit', async () => {
    const { call, entries } = setup({ level: 'sandbox' })
    await call('test.write', { data: 'hunter2' })
    expect(entries[0]!.args).toEqual({ data: '[redacted]' })
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
    const { start, log, clock, pipeline } = setup({ callTimeoutMs: 50 })
    const { call, outcome } = start('test.slow', { ms: 10_000 })
    expect(pipeline.pendingDeadlines).toBe(1)
    clock.advance(49)
    expect(call.settled).toBe(false)
    clock.advance(1)
    expect(await outcome).toMatchObject({ ok: false, code: 'TIMEOUT' })
    expect(log).toContain('slow:aborted')
    expect(pipeline.pendingDeadlines).toBe(0)
  })

  test("a capability's own timeoutMs overrides callTimeoutMs", async () => {
    const { start, clock } = setup({ callTimeoutMs: 60_000 })
    const { outcome } = start('test.quick', {})
    clock.advance(50)
    expect(await outcome).toMatchObject({ ok: false, code: 'TIMEOUT' })
  })

  test('cancelling the call reaches the running handler', async () => {
    const { start, log, entries } = setup()
    const { call, outcome } = start('test.slow', { ms: 10_000 })
    call.cancel('stop')
    expect(await outcome).toMatchObject({ ok: false, code: 'CANCELLED' })
    expect(log).toContain('slow:aborted')
    expect(entries.at(-1)).toMatchObject({ type: 'outcome', state: 'cancelled' })
  })

  test("the handler's context hears a cancel through onCancel, without making the call's signal", async () => {
    const heard: unknown[] = []
    let signalRead = false
    const quiet = defineProvider({
      name: 'quiet',
      version: '1.0.0',
      capabilities: [
        defineCapability({
          name: 'wait',
          level: 'sandbox',
          description: 'Wait until cancelled.',
          input: z.object({}),
          output: z.null(),
          handler: (_args, ctx) =>
            new Promise<null>((_resolve, reject) => {
              ctx.onCancel?.((reason) => {
                heard.push(reason)
                reject(reason)
              })
            }),
        }),
      ],
    })
    const clock = manualClock()
    const policy = SecurityPolicy.create(new CapabilityRegistry([quiet]), { level: 'standard' })
    const pipeline = new CallPipeline({
      audit: new AuditLog([]),
      clock,
      logger: silentLogger,
      callTimeoutMs: 5000,
    })
    const call = new PendingCall({
      id: 'c1',
      protocolId: 1,
      capability: 'quiet.wait',
      args: {},
      frameBytes: 2,
      sessionId: 's1',
      execution: null,
      createdAt: clock.now(),
    })
    const signal = Object.getOwnPropertyDescriptor(PendingCall.prototype, 'signal')!
    Object.defineProperty(call, 'signal', {
      get() {
        signalRead = true
        return signal.get!.call(call)
      },
    })
    const outcome = Promise.resolve(pipeline.invoke(call, policy))
    call.cancel('stop')
    expect(await outcome).toMatchObject({ ok: false, code: 'CANCELLED' })
    expect(heard).toHaveLength(1)
    expect(heard[0]).toMatchObject({ code: 'CANCELLED' })
    expect(signalRead).toBe(false)
  })

  test('fails closed when the audit sink throws: the handler never runs', async () => {
    const { call, log } = setup({ failingAudit: true })
    expect(await call('test.echo', { text: 'x' })).toMatchObject({ ok: false, code: 'UNAVAILABLE' })
    expect(log).toEqual([])
  })

  test('redacts secret arguments in the audit log, once per call', async () => {
    const { start, entries } = setup()
    const { call, outcome } = start('test.write', { data: 'hunter2' })
    await outcome
    expect(JSON.stringify(entries)).not.toContain('hunter2')
    expect(entries[0]!.args).toEqual({ data: '[redacted]' })
    // The event and the audit share one redacted copy.
    expect(call.redactedArgs(() => 'redacted again')).toBe(entries[0]!.args)
  })

  test('with no audit sink nothing is redacted for it', async () => {
    const { start } = setup({ noSinks: true })
    const { call, outcome } = start('test.write', { data: 'hunter2' })
    expect(await outcome).toEqual({ ok: true, value: 7 })
    expect(call.redactedArgs(() => 'first redaction')).toBe('first redaction')
  })

  test('a call settled from outside resolves without waiting for the handler, which is told to stop', async () => {
    const { start, directory, entries, log } = setup()
    const { call, outcome } = start('test.slow', { ms: 10_000, value: 'late' })
    expect(directory.list().map((record) => record.id)).toEqual([call.id])
    expect(directory.settle(call.id, { value: 'early' })).toBe(true)
    expect(await outcome).toEqual({ ok: true, value: 'early' })
    expect(log).toContain('slow:aborted')
    // The handler's own end (it rejects once aborted) changed nothing: one outcome, the outside one.
    await new Promise((resolve) => setImmediate(resolve))
    expect(call.settlement).toEqual({ value: 'early' })
    expect(entries.filter((entry) => entry.type === 'outcome')).toHaveLength(1)
    expect(directory.size).toBe(0)
  })

  test('a recorder that returns a recorded outcome keeps the handler from running', async () => {
    const recorded: CallOutcome = { ok: true, value: 'from the journal' }
    const seen: string[] = []
    const recorder: CallRecorder = {
      beforeRun: (call) => {
        seen.push(`before:${call.capability}`)
        return call.capability === 'test.echo' ? Promise.resolve(recorded) : undefined
      },
      afterSettle: (call, outcome) => {
        seen.push(`after:${call.capability}:${outcome.ok}`)
      },
    }
    const { call, log } = setup({ recorder })
    expect(await call('test.echo', { text: 'x' })).toEqual(recorded)
    expect(log).toEqual([])
    expect(await call('test.read', {})).toEqual({ ok: true, value: 'read' })
    expect(seen).toEqual(['before:test.echo', 'before:test.read', 'after:test.read:true'])
  })

  test('a provider refusal is audited as a second decision', async () => {
    const { call, entries } = setup()
    await call('test.fail', { code: 'DENIED' })
    expect(entries.map((e) => e.decision ?? e.state)).toEqual(['allowed', 'denied', 'rejected'])
    expect(entries[1]!.rule).toBe('provider')
  })

  test('an outside rejection with DENIED is recorded as the host’s decision', async () => {
    const { start, entries } = setup()
    const { call, outcome } = start('test.slow', { ms: 10_000 })
    call.settle({ error: new CapabilityError('DENIED', 'no') })
    expect(await outcome).toMatchObject({ ok: false, code: 'DENIED' })
    expect(entries[1]).toMatchObject({ decision: 'denied', rule: 'host' })
  })
})

import { describe, expect, test } from 'vitest'
import { AuditLog } from '../../src/audit/auditLog.js'
import { CallDirectory } from '../../src/calls/callDirectory.js'
import { CallPipeline } from '../../src/calls/callPipeline.js'
import { CapabilityRegistry } from '../../src/capabilities/capabilityRegistry.js'
import { silentLogger } from '../../src/di/container.js'
import { MemoryPromiseStore } from '../../src/promises/promiseStore.js'
import type { HostMessage } from '../../src/protocol/messages.js'
import { SecurityPolicy } from '../../src/security/securityPolicy.js'
import { DEFAULT_LIMITS, type Limits } from '../../src/session/limits.js'
import { Session } from '../../src/session/session.js'
import { WorkerConnection } from '../../src/worker/workerConnection.js'
import { type ManualClock, manualClock, testProvider } from '../fixtures.js'
import { ScriptedWorker } from '../worker/scriptedWorker.js'

// A Session against scripted workers: the real queue, router, supervisor, pipeline and connection, with
// a fake process and an in-memory transport where the Python worker would be.
function scriptedSession(limits: Partial<Limits> = {}) {
  const log: string[] = []
  const clock: ManualClock = manualClock()
  const registry = new CapabilityRegistry([testProvider(log)])
  const policy = SecurityPolicy.create(registry, { level: 'standard' })
  const calls = new CallDirectory()
  const store = new MemoryPromiseStore(clock)
  const workers: ScriptedWorker[] = []
  const all = { ...DEFAULT_LIMITS, heartbeatIntervalMs: 0, ...limits }
  const session = new Session({
    id: 'ses_test',
    policy,
    limits: all,
    pipeline: new CallPipeline({
      audit: new AuditLog([]),
      clock,
      logger: silentLogger,
      callTimeoutMs: 60_000,
    }),
    calls,
    store,
    clock,
    sandbox: 'none',
    startWorker: (init, handlers) => {
      const worker = new ScriptedWorker(4242 + workers.length)
      workers.push(worker)
      return WorkerConnection.open(
        worker.port,
        worker.host,
        {
          maxFrameBytes: all.maxFrameBytes,
          frameShape: { maxFrameKeys: 1000, maxFrameItems: 1000, maxFrameDepth: 32 },
          startTimeoutMs: all.startTimeoutMs,
          heartbeatIntervalMs: 0,
          heartbeatTimeoutMs: all.heartbeatTimeoutMs,
          init,
          clock,
        },
        handlers,
      )
    },
  })
  // Nothing of the session is pending: no execution in the store, no call in the directory.
  const settledAll = () => ({ executions: store.size, calls: calls.size, listed: calls.list().length })
  return { session, workers, log, clock, calls, store, settledAll }
}

const isType =
  <T extends HostMessage['type']>(type: T) =>
  (message: HostMessage): message is Extract<HostMessage, { type: T }> =>
    message.type === type

/** A worker script that starts a slow call from the running cell and leaves the cell running. */
function callsSlowAndWaits(worker: ScriptedWorker): void {
  worker.onExecute = (message) =>
    worker.send({ type: 'call', id: 1, exec: message.id, capability: 'test.slow', args: { ms: 60_000 } })
}

describe('a session over a scripted worker', () => {
  test('sends init with the granted capabilities and runs a cell to its result', async () => {
    const { session, workers } = scriptedSession()
    await session.start()
    const init = workers[0]!.received.find(isType('init'))!
    expect(init.capabilities.map((spec) => spec.id)).toContain('test.echo')
    const result = await session.run('1 + 1')
    expect(result).toMatchObject({ status: 'ok', value: { 'text/plain': 'None' } })
    expect(session.info()).toMatchObject({ state: 'idle', pid: 4242, workerPid: 4242, codec: 'json' })
  })

  test('routes a call frame through the pipeline and answers the worker that asked', async () => {
    const { session, workers, settledAll } = scriptedSession()
    await session.start()
    const worker = workers[0]!
    worker.onExecute = (message) =>
      worker.send({
        type: 'call',
        id: 7,
        exec: message.id,
        capability: 'test.echo',
        args: { text: 'hi', times: 2 },
      })
    const running = session.run('echo("hi", times=2)')
    const answer = await worker.next(isType('call_result'))
    expect(answer).toEqual({ type: 'call_result', id: 7, value: 'hihi' })
    worker.send({ type: 'result', id: 1, count: 1, value: null })
    await running
    expect(session.info().calls).toEqual({ allowed: 1, denied: 0, failed: 0 })
    expect(settledAll()).toEqual({ executions: 0, calls: 0, listed: 0 })
  })

  test('a denied call is answered with call_error DENIED and its handler never runs', async () => {
    const { session, workers, log } = scriptedSession()
    await session.start()
    const worker = workers[0]!
    worker.send({ type: 'call', id: 3, exec: null, capability: 'evil.exec', args: {} })
    expect(await worker.next(isType('call_error'))).toMatchObject({ id: 3, code: 'DENIED' })
    expect(log).toEqual([])
  })

  test('destroy() settles the running execution, the queue and every call in one go', async () => {
    const { session, workers, log, settledAll } = scriptedSession()
    await session.start()
    const worker = workers[0]!
    callsSlowAndWaits(worker)
    const running = session.run('slow(60000)')
    const queued = session.run('1')
    await worker.next(isType('execute'))
    await until(() => session.info().pendingCalls === 1)
    session.destroy()
    await expect(running).rejects.toMatchObject({ code: 'SESSION_CLOSED' })
    await expect(queued).rejects.toMatchObject({ code: 'SESSION_CLOSED' })
    expect(log).toContain('slow:aborted')
    expect(session.state).toBe('closed')
    expect(settledAll()).toEqual({ executions: 0, calls: 0, listed: 0 })
  })

  test('a worker exit fails the running and queued executions, cancels its calls, and the next cell revives it', async () => {
    const { session, workers, log, settledAll } = scriptedSession()
    await session.start()
    callsSlowAndWaits(workers[0]!)
    const running = session.run('slow(60000)')
    const queued = session.run('1')
    await until(() => session.info().pendingCalls === 1)
    workers[0]!.exit({ exitCode: 3 })
    await expect(running).rejects.toMatchObject({ code: 'WORKER_EXITED', details: { exitCode: 3 } })
    await expect(queued).rejects.toMatchObject({ code: 'WORKER_EXITED' })
    expect(log).toContain('slow:aborted')
    expect(session.state).toBe('dead')
    expect(settledAll()).toEqual({ executions: 0, calls: 0, listed: 0 })
    expect((await session.run('2')).status).toBe('ok')
    expect(workers).toHaveLength(2)
    expect(session.info().restarts).toBe(1)
  })

  test('restart() ends the running cell as lost, cancels its call, and the queued cell runs on the new worker', async () => {
    const { session, workers, log, settledAll } = scriptedSession()
    await session.start()
    callsSlowAndWaits(workers[0]!)
    const running = session.run('slow(60000)')
    const queued = session.run('after')
    await until(() => session.info().pendingCalls === 1)
    await session.restart()
    expect(await running).toMatchObject({ status: 'interrupted', stateLost: true })
    expect(log).toContain('slow:aborted')
    expect(await queued).toMatchObject({ status: 'ok' })
    // The new worker numbers executions from 1 again, and saw only the queued cell.
    expect(workers[1]!.received.filter(isType('execute'))).toEqual([
      { type: 'execute', id: 1, code: 'after' },
    ])
    expect(settledAll()).toEqual({ executions: 0, calls: 0, listed: 0 })
  })

  test('close() lets the running cell finish, then cancels background calls and shuts the worker down', async () => {
    const { session, workers, log, settledAll } = scriptedSession()
    await session.start()
    const worker = workers[0]!
    worker.send({ type: 'call', id: 9, exec: null, capability: 'test.slow', args: { ms: 60_000 } })
    worker.onExecute = () => {}
    await until(() => session.info().pendingCalls === 1)
    const running = session.run('last')
    await worker.next(isType('execute'))
    const closing = session.close()
    expect(() => session.execute('more')).toThrow(expect.objectContaining({ code: 'SESSION_CLOSED' }))
    expect(log).not.toContain('slow:aborted')
    worker.send({ type: 'result', id: 1, count: 1, value: null })
    expect((await running).status).toBe('ok')
    await closing
    expect(log).toContain('slow:aborted')
    expect(worker.received.at(-1)).toEqual({ type: 'shutdown' })
    expect(session.state).toBe('closed')
    expect(settledAll()).toEqual({ executions: 0, calls: 0, listed: 0 })
  })

  test('an execution deadline on the manual clock interrupts the cell, which ends as timeout', async () => {
    const { session, workers, clock } = scriptedSession()
    await session.start()
    const worker = workers[0]!
    worker.onExecute = () => {}
    const running = session.run('forever()', { timeoutMs: 1000 })
    const execute = (await worker.next(isType('execute'))) as Extract<HostMessage, { type: 'execute' }>
    clock.advance(999)
    expect(worker.received.some(isType('interrupt'))).toBe(false)
    clock.advance(1)
    await worker.next(isType('interrupt'))
    worker.send({
      type: 'error',
      id: execute.id,
      count: 1,
      ename: 'KeyboardInterrupt',
      evalue: '',
      traceback: [],
    })
    expect(await running).toMatchObject({
      status: 'timeout',
      details: { limit: 'timeoutMs', timeoutMs: 1000 },
    })
  })

  test('a cell that ignores the interrupt is killed after the grace period and the worker replaced', async () => {
    const { session, workers, clock } = scriptedSession({ interruptGraceMs: 500 })
    await session.start()
    workers[0]!.onExecute = () => {}
    const running = session.run('stubborn()')
    await workers[0]!.next(isType('execute'))
    const interrupted = session.interrupt()
    await workers[0]!.next(isType('interrupt'))
    clock.advance(500)
    await interrupted
    expect(await running).toMatchObject({ status: 'interrupted', stateLost: true })
    expect(workers[0]!.exited).toBe(true)
    await until(() => session.state === 'idle')
    expect(workers).toHaveLength(2)
  })

  test('output for an execution that is not running ends that worker with PROTOCOL_ERROR', async () => {
    const { session, workers } = scriptedSession()
    await session.start()
    const worker = workers[0]!
    worker.onExecute = (message) =>
      worker.send({ type: 'stream', id: message.id + 5, name: 'stdout', text: 'forged' })
    await expect(session.run('x')).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' })
    expect(worker.exited).toBe(true)
  })

  test('a frame that fails its schema ends the worker with PROTOCOL_ERROR naming the type', async () => {
    const { session, workers } = scriptedSession()
    await session.start()
    const worker = workers[0]!
    worker.onExecute = (message) => worker.send({ type: 'stream', id: message.id, name: 'stdout', text: 42 })
    await expect(session.run('x')).rejects.toMatchObject({
      code: 'PROTOCOL_ERROR',
      message: expect.stringContaining('"stream"'),
    })
  })

  test('a reused pending call id ends the worker, and its first call is cancelled', async () => {
    const { session, workers, log } = scriptedSession()
    await session.start()
    const worker = workers[0]!
    worker.send({ type: 'call', id: 5, exec: null, capability: 'test.slow', args: { ms: 60_000 } })
    worker.send({ type: 'call', id: 5, exec: null, capability: 'test.slow', args: { ms: 60_000 } })
    await until(() => worker.exited && session.state === 'dead')
    await until(() => log.includes('slow:aborted'))
    expect(session.info().pendingCalls).toBe(0)
  })
})

async function until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise((resolve) => setImmediate(resolve))
  }
}

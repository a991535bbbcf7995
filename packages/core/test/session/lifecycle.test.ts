import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { defineCapability, defineProvider } from '@capsule/provider-sdk'
import { describe, expect, test } from 'vitest'
import { z } from 'zod'
import { Capsule } from '../../src/index.js'
import { capsuleHarness, startCell } from '../capsuleHarness.js'
import { until } from '../fixtures.js'

const harness = capsuleHarness()
const open = harness.open

describe('interrupt', () => {
  test.each([
    ['a busy loop', 'while True:\n    pass'],
    ['time.sleep', 'import time\ntime.sleep(100)'],
    ['await asyncio.sleep', 'import asyncio\nawait asyncio.sleep(100)'],
  ])('stops %s with KeyboardInterrupt and keeps the namespace', async (_, code) => {
    const { session } = await open()
    await session.run('kept = "still here"')
    const running = (await startCell(session, code)).result
    const started = performance.now()
    await session.interrupt()
    const elapsed = performance.now() - started
    const result = await running
    expect(result.status).toBe('interrupted')
    expect(result.error?.ename).toBe('KeyboardInterrupt')
    expect(result.stateLost).toBe(false)
    // Far below the kill grace period: the interrupt itself worked (latency is measured in bench/).
    expect(elapsed).toBeLessThan(1500)
    expect((await session.run('kept')).value?.['text/plain']).toBe("'still here'")
  })

  test('code that ignores the interrupt is killed after the grace period; the session restarts and says the state was lost', async () => {
    const { session } = await open({ limits: { interruptGraceMs: 300 } })
    await session.run('kept = 1')
    const { result: running } = await startCell(
      session,
      'import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass',
    )
    await session.interrupt()
    const result = await running
    expect(result.status).toBe('interrupted')
    expect(result.stateLost).toBe(true)
    const after = await session.run('"kept" in globals()')
    expect(after.value?.['text/plain']).toBe('False')
    expect(session.info().restarts).toBe(1)
  })

  test('an execute timeout on code that ignores the interrupt kills the worker; the result says timeout and state lost', async () => {
    const { session } = await open({ limits: { interruptGraceMs: 200 } })
    const result = await session.run(
      'import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass',
      {
        timeoutMs: 200,
      },
    )
    expect(result).toMatchObject({ status: 'timeout', stateLost: true })
    expect((await session.run('"fresh"')).value?.['text/plain']).toBe("'fresh'")
  })

  test('an execute timeout interrupts the cell and reports status timeout', async () => {
    const { session } = await open()
    const result = await session.run('import time\ntime.sleep(30)', { timeoutMs: 200 })
    expect(result.status).toBe('timeout')
    expect((await session.run('1')).status).toBe('ok')
  })
})

describe('ordering', () => {
  test('executions run one at a time, in order', async () => {
    const { session } = await open()
    const results = await Promise.all([
      session.run('import time\norder = []\ntime.sleep(0.1)\norder.append(1)'),
      session.run('order.append(2)'),
      session.run('order'),
    ])
    expect(results[2]!.value?.['text/plain']).toBe('[1, 2]')
  })

  test('a caller that will not wait gets SESSION_BUSY while another execution runs', async () => {
    const { session } = await open()
    const running = session.run('import time\ntime.sleep(0.2)')
    expect(() => session.execute('1', { wait: false })).toThrow(
      expect.objectContaining({ code: 'SESSION_BUSY' }),
    )
    await running
  })

  test('bad arguments are typed errors and leave the session usable', async () => {
    const { session } = await open()
    expect(() => session.execute(42 as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    await expect(session.run('1', { timeoutMs: -5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect((await session.run('1 + 1')).value?.['text/plain']).toBe('2')
  })
})

describe('worker death', () => {
  test.each([
    ['os._exit(3)', 'import os\nos._exit(3)', { exitCode: 3 }],
    ['a segfault through ctypes', 'import ctypes\nctypes.string_at(0)', { signal: 'SIGSEGV' }],
  ])(
    '%s gives the running execution WORKER_EXITED, rejects the queue, and the session restarts',
    async (_, code, expected) => {
      const { session, capsule } = await open()
      const running = session.run(code)
      const queued = session.run('1')
      const error = await running.catch((e) => e)
      expect(error).toMatchObject({ code: 'WORKER_EXITED', details: expect.objectContaining(expected) })
      await expect(queued).rejects.toMatchObject({ code: 'WORKER_EXITED' })
      expect(session.state).toBe('dead')
      expect((await session.run('2 + 2')).value?.['text/plain']).toBe('4')
      expect(capsule.promises.list()).toEqual([])
    },
  )

  test('a SIGKILL from outside is reported with the signal', async () => {
    const { session } = await open()
    const { result: running } = await startCell(session, 'import time\ntime.sleep(30)')
    process.kill(session.info().pid!, 'SIGKILL')
    await expect(running).rejects.toMatchObject({
      code: 'WORKER_EXITED',
      details: expect.objectContaining({ signal: 'SIGKILL' }),
    })
    await session.restart()
    expect((await session.run('3')).value?.['text/plain']).toBe('3')
  })

  test('a worker that stops answering heartbeats is declared dead', async () => {
    const { session } = await open({ limits: { heartbeatIntervalMs: 50, heartbeatTimeoutMs: 400 } })
    const before = session.info().lastHeartbeatAt!
    await until(() => session.info().lastHeartbeatAt! > before)
    const running = session.run('import time\ntime.sleep(30)')
    process.kill(session.info().pid!, 'SIGSTOP')
    await expect(running).rejects.toMatchObject({ code: 'WORKER_UNRESPONSIVE' })
  })
})

// Frames forged from Python onto the protocol pipe: the host must end that worker with PROTOCOL_ERROR.
describe('a malicious worker', () => {
  const forge = (bytesExpr: string) =>
    `import os, struct, json\nbody = ${bytesExpr}\nos.write(int(os.environ.get("CAPSULE_FD_OUT", "4")), body)\nimport time\ntime.sleep(5)`

  test.each([
    ['an oversized length prefix', forge('struct.pack(">I", 0xFFFFFFF0) + b"x" * 16')],
    ['an undecodable body', forge('struct.pack(">I", 5) + b"\\xc1\\xc1\\xc1\\xc1\\xc1"')],
    [
      'an unknown message type',
      forge('(lambda b: struct.pack(">I", len(b)) + b)(json.dumps({"type": "bogus"}).encode())'),
    ],
    [
      'a result for another execution',
      forge(
        '(lambda b: struct.pack(">I", len(b)) + b)(json.dumps({"type": "result", "id": 999, "count": 1, "value": None}).encode())',
      ),
    ],
    [
      'a frame truncated by exit',
      'import os, struct\nos.write(int(os.environ.get("CAPSULE_FD_OUT", "4")), struct.pack(">I", 100) + b"abc")\nos._exit(0)',
    ],
  ])('%s ends the worker with PROTOCOL_ERROR and the host keeps going', async (_, code) => {
    const { session } = await open({ codec: 'json' })
    const error = await session.run(code).catch((e) => e)
    expect(error).toMatchObject({ code: 'PROTOCOL_ERROR' })
    expect((await session.run('"alive"')).value?.['text/plain']).toBe("'alive'")
  })
})

describe('interpreters', () => {
  test('a missing interpreter is PYTHON_NOT_FOUND at session()', async () => {
    const capsule = new Capsule({ sandbox: 'none', python: '/nonexistent/python3' })
    await expect(capsule.session()).rejects.toMatchObject({ code: 'PYTHON_NOT_FOUND' })
  })

  test('an interpreter older than 3.9 is PYTHON_UNSUPPORTED at session()', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capsule-oldpy-'))
    const fake = join(dir, 'python3')
    writeFileSync(
      fake,
      '#!/bin/sh\necho \'{"executable": "/usr/bin/python3.7", "version": [3, 7, 9], "implementation": "cpython", "prefix": "/usr", "base_prefix": "/usr", "path": [], "msgpack": false}\'\n',
    )
    chmodSync(fake, 0o755)
    const capsule = new Capsule({ sandbox: 'none', python: fake })
    try {
      await expect(capsule.session()).rejects.toMatchObject({
        code: 'PYTHON_UNSUPPORTED',
        message: expect.stringContaining('3.7.9'),
      })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('CAPSULE_PYTHON selects the interpreter', async () => {
    const previous = process.env.CAPSULE_PYTHON
    process.env.CAPSULE_PYTHON = '/usr/bin/python3'
    try {
      const capsule = harness.capsule({ python: undefined })
      await capsule.session()
      expect(capsule.info().python?.executable).toMatch(/python3/)
    } finally {
      if (previous === undefined) delete process.env.CAPSULE_PYTHON
      else process.env.CAPSULE_PYTHON = previous
    }
  })
})

describe('closing', () => {
  test('close() lets the running execution finish, then refuses new work', async () => {
    const { session } = await open()
    const running = session.run('import time\ntime.sleep(0.1)\n"finished"')
    const closing = session.close()
    expect(() => session.execute('1')).toThrow(expect.objectContaining({ code: 'SESSION_CLOSED' }))
    expect((await running).value?.['text/plain']).toBe("'finished'")
    await closing
    expect(session.state).toBe('closed')
  })

  test('destroy() rejects everything pending at once', async () => {
    const { session, capsule } = await open()
    const running = session.run('import time\ntime.sleep(30)')
    const queued = session.run('1')
    session.destroy()
    await expect(running).rejects.toMatchObject({ code: 'SESSION_CLOSED' })
    await expect(queued).rejects.toMatchObject({ code: 'SESSION_CLOSED' })
    expect(capsule.promises.list()).toEqual([])
  })

  test('bad providers are refused at new Capsule(), not at the first call', () => {
    const echo = (name: string, python?: string) =>
      defineCapability({
        name,
        python,
        level: 'sandbox',
        description: 'x',
        input: z.object({}),
        output: z.null(),
        handler: () => null,
      })
    const provider = (name: string, ...capabilities: ReturnType<typeof echo>[]) =>
      defineProvider({ name, version: '1.0.0', capabilities })
    expect(() => new Capsule({ providers: [provider('a', echo('x')), provider('a', echo('y'))] })).toThrow(
      expect.objectContaining({ code: 'INVALID_PROVIDER' }),
    )
    expect(
      () => new Capsule({ providers: [provider('a', echo('x', 'same')), provider('b', echo('y', 'same'))] }),
    ).toThrow(/already used/)
    const badSchema = defineProvider({
      name: 'c',
      version: '1.0.0',
      capabilities: [{ ...echo('z'), input: z.object({ 'not an identifier': z.string() }) }],
    })
    expect(() => new Capsule({ providers: [badSchema] })).toThrow(/not a valid Python parameter name/)
  })

  test('options are validated eagerly with a precise message', () => {
    expect(() => new Capsule({ limits: { callTimeoutMs: 0 } })).toThrow(/limits\.callTimeoutMs/)
    expect(() => new Capsule({ level: 'root' as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    )
    expect(() => new Capsule({ bogus: 1 } as never)).toThrow(/bogus|Unrecognized/)
  })
})

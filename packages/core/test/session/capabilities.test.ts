import { describe, expect, test } from 'vitest'
import type { AuditEntry, CapsuleOptions } from '../../src/index.js'
import { capsuleHarness } from '../capsuleHarness.js'
import { testProvider, until } from '../fixtures.js'
import { testPythons } from '../pythons.js'

describe.each(testPythons())('capabilities on $label', ({ python, codec }) => {
  // Every Capsule is closed after its test and must leave no promise pending.
  const harness = capsuleHarness()
  const open = async (options: CapsuleOptions = {}, log: string[] = []) => {
    const audit: AuditEntry[] = []
    const capsule = harness.capsule({
      python,
      codec,
      level: 'standard',
      providers: [testProvider(log)],
      onAudit: (entry) => audit.push(entry),
      ...options,
    })
    return { capsule, session: await capsule.session(), audit, log }
  }

  test('a granted capability is a global with a real signature and a useful docstring', async () => {
    const { session } = await open()
    const result = await session.run(
      'import inspect\n(str(inspect.signature(echo)), echo.__doc__.splitlines()[0], echo.__name__)',
    )
    expect(result.value?.['text/plain']).toBe(
      `('(text: str, times: int = 1) -> str', 'Return the text.', 'echo')`,
    )
    const help = await session.run('help(echo)')
    expect(help.stdout).toContain('text (str): what to echo')
  })

  test('a capability the level does not grant is simply absent (NameError)', async () => {
    const { session } = await open({ level: 'restricted' })
    const result = await session.run('write(data="x")')
    expect(result.error?.ename).toBe('NameError')
    expect((await session.run('read()')).value?.['text/plain']).toBe("'read'")
  })

  test('sync calls return the value; wrong arity is a local TypeError', async () => {
    const { session } = await open()
    expect((await session.run('echo("ab", times=3)')).value?.['text/plain']).toBe("'ababab'")
    expect((await session.run('echo()')).error?.ename).toBe('TypeError')
    expect((await session.run('write(b"\\x00\\x01\\x02")')).value?.['text/plain']).toBe('3')
    expect((await session.run('blob(5)')).value?.['text/plain']).toBe("b'\\x07\\x07\\x07\\x07\\x07'")
  })

  test('inside a coroutine a call is awaitable, and 50 calls of a 100 ms handler run concurrently', async () => {
    const { session } = await open()
    const started = performance.now()
    const result = await session.run(
      'import asyncio\nvalues = await asyncio.gather(*[slow(100, value=i) for i in range(50)])\nsum(values)',
    )
    const elapsed = performance.now() - started
    expect(result.value?.['text/plain']).toBe(String((49 * 50) / 2))
    // Sequential would take 5 s.
    expect(elapsed).toBeLessThan(2500)
  })

  test('calls from a thread the user started work', async () => {
    const { session } = await open()
    const result = await session.run(
      'import threading\nout = []\nts = [threading.Thread(target=lambda i=i: out.append(echo(str(i)))) for i in range(4)]\n[t.start() for t in ts]\n[t.join() for t in ts]\nsorted(out)',
    )
    expect(result.value?.['text/plain']).toBe("['0', '1', '2', '3']")
  })

  test('each error code surfaces as its Python exception', async () => {
    const { session } = await open({ limits: { callTimeoutMs: 100 } })
    const result = await session.run(
      [
        'import capsule',
        'seen = []',
        'for code in ["NOT_FOUND", "LIMIT_EXCEEDED", "DENIED", "INVALID_ARGUMENT"]:',
        '    try:',
        '        fail(code)',
        '    except capsule.CapabilityError as e:',
        '        seen.append((code, type(e).__name__, e.code))',
        'try:',
        '    slow(5000)',
        'except TimeoutError as e:',
        '    seen.append(("TIMEOUT", type(e).__name__, e.code))',
        'try:',
        '    echo(123)',
        'except ValueError as e:',
        '    seen.append(("bad args", type(e).__name__, e.code))',
        'try:',
        '    fail("CRASH")',
        'except capsule.CapabilityError as e:',
        '    seen.append(("crash", str(e)))',
        'seen',
      ].join('\n'),
    )
    const text = result.value?.['text/plain'] as string
    expect(text).toContain("('NOT_FOUND', 'CapabilityError', 'NOT_FOUND')")
    expect(text).toContain("('DENIED', 'CapabilityDenied', 'DENIED')")
    expect(text).toContain("('INVALID_ARGUMENT', 'InvalidArguments', 'INVALID_ARGUMENT')")
    expect(text).toContain("('TIMEOUT', 'CapabilityTimeout', 'TIMEOUT')")
    expect(text).toContain("('bad args', 'InvalidArguments', 'INVALID_ARGUMENT')")
    expect(text).toContain('internal error in test.fail')
    expect(text).not.toContain('shadow')
    expect(
      (await session.run('issubclass(capsule.CapabilityDenied, PermissionError)')).value?.['text/plain'],
    ).toBe('True')
  })

  test('a call frame forged for a capability the session was not granted is denied, audited and never run', async () => {
    const { session, audit, log } = await open({ level: 'sandbox', codec: 'json' })
    const result = await session.run(
      [
        'import os, struct, json, time',
        'body = json.dumps({"type": "call", "id": 900001, "exec": None, "capability": "test.write", "args": {"data": "pwned"}}).encode()',
        'os.write(int(os.environ.get("CAPSULE_FD_OUT", "4")), struct.pack(">I", len(body)) + body)',
        'time.sleep(0.3)',
        '"sent"',
      ].join('\n'),
    )
    expect(result.value?.['text/plain']).toBe("'sent'")
    expect(log).not.toContain('write')
    expect(audit).toContainEqual(
      expect.objectContaining({ capability: 'test.write', decision: 'denied', rule: 'not-granted:sandbox' }),
    )
  })

  test('deny wins over allow, and sessions can narrow but not widen', async () => {
    const { capsule } = await open({ level: 'standard', allow: ['test.run'], deny: ['test.echo'] })
    const session = await capsule.session()
    expect((await session.run('run()')).value?.['text/plain']).toBe("'ran'")
    expect((await session.run('echo("x")')).error?.ename).toBe('NameError')
    const narrow = await capsule.session({ level: 'restricted' })
    expect((await narrow.run('write("x")')).error?.ename).toBe('NameError')
    expect(narrow.info().capabilities).not.toContain('test.write')
    await expect(capsule.session({ level: 'trusted' })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' })
  })

  test('interrupting the execution aborts the handler of a call in flight and leaks no promise', async () => {
    const { session, log, capsule } = await open()
    const execution = session.execute('slow(10000)')
    // The call event comes as the call reaches its handler.
    for await (const event of execution) if (event.type === 'call') break
    const running = execution.result
    expect(
      capsule.promises
        .list({ sessionId: session.id })
        .map((p) => p.kind)
        .sort(),
    ).toEqual(['call', 'execution'])
    await session.interrupt()
    const result = await running
    expect(result.status).toBe('interrupted')
    expect(log).toContain('slow:aborted')
    expect(capsule.promises.list()).toEqual([])
  })

  test('closing a session aborts a call from a background thread', async () => {
    const { session, log, capsule } = await open()
    await session.run('import threading\nthreading.Thread(target=lambda: slow(10000), daemon=True).start()')
    await until(() => capsule.promises.list().length > 0)
    expect(capsule.promises.list().map((p) => p.kind)).toEqual(['call'])
    await session.close()
    expect(log).toContain('slow:aborted')
    expect(capsule.promises.list()).toEqual([])
  })

  test('a worker that dies during a call leaves no pending promise', async () => {
    const { session, log, capsule } = await open()
    const running = session.run(
      'import threading, os, time\nthreading.Timer(0.2, lambda: os._exit(9)).start()\nslow(10000)',
    )
    await expect(running).rejects.toMatchObject({ code: 'WORKER_EXITED' })
    expect(log).toContain('slow:aborted')
    expect(capsule.promises.list()).toEqual([])
  })

  test('an audit sink that throws refuses the call (fail closed)', async () => {
    const { session, log } = await open({
      onAudit: () => {
        throw new Error('audit store down')
      },
    })
    const result = await session.run(
      'import capsule\ntry:\n    echo("x")\nexcept capsule.CapabilityError as e:\n    r = e.code\nr',
    )
    expect(result.value?.['text/plain']).toBe("'UNAVAILABLE'")
    expect(log).toEqual([])
  })

  test('execute() yields a call event per call, with secret arguments redacted', async () => {
    const { session } = await open()
    const calls = []
    for await (const event of session.execute('write("hunter2")\necho("hi")'))
      if (event.type === 'call') calls.push(event)
    expect(calls).toMatchObject([
      { capability: 'test.write', args: { data: '[redacted]' } },
      { capability: 'test.echo', args: { text: 'hi' } },
    ])
  })

  test('progress reported by a handler reaches the execution as progress events', async () => {
    const { session } = await open()
    const progress = []
    for await (const event of session.execute('steps(3)')) if (event.type === 'progress') progress.push(event)
    expect(progress).toMatchObject([
      { capability: 'test.steps', done: 1, total: 3, unit: 'steps' },
      { done: 2 },
      { done: 3 },
    ])
  })

  test('info() counts calls by outcome', async () => {
    const { session } = await open()
    await session.run('echo("a")\ntry:\n    fail("NOT_FOUND")\nexcept Exception:\n    pass')
    expect(session.info().calls).toEqual({ allowed: 1, denied: 0, failed: 1 })
  })
})

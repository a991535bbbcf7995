import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Capsule, type ExecutionEvent, type Session } from '../../src/index.js'
import { testPythons } from '../pythons.js'

describe.each(testPythons())('a session on $label', ({ python, codec }) => {
  let capsule: Capsule
  let session: Session

  beforeAll(async () => {
    capsule = new Capsule({ sandbox: 'none', python, codec, level: 'restricted' })
    session = await capsule.session()
  })
  afterAll(() => capsule.close())

  test('reports the codec and the interpreter in info()', () => {
    const info = session.info()
    expect(info.codec).toBe(codec)
    expect(info.python).toMatch(/^3\.\d+\.\d+$/)
    expect(info.state).toBe('idle')
    expect(info.sandbox).toBe('none')
  })

  test('returns the last expression as a mime bundle and keeps the namespace', async () => {
    const first = await session.run('x = 40\nx + 2')
    expect(first.status).toBe('ok')
    expect(first.value).toEqual({ 'text/plain': '42' })
    const second = await session.run('x')
    expect(second.value?.['text/plain']).toBe('40')
    expect(second.executionCount).toBe(first.executionCount + 1)
    expect((await session.run('y = 1')).value).toBeNull()
    expect((await session.run('None')).value).toBeNull()
  })

  test('rich reprs join the bundle, and a failing repr is skipped', async () => {
    const result = await session.run(
      'class R:\n  def __repr__(self): return "R()"\n  def _repr_html_(self): return "<i>r</i>"\n  def _repr_markdown_(self): raise ValueError("no")\n  def _repr_json_(self): return {"a": 1}\nR()',
    )
    expect(result.value).toEqual({
      'text/plain': 'R()',
      'text/html': '<i>r</i>',
      'application/json': { a: 1 },
    })
  })

  test('captures print, sys.stdout.write, os.write(1) and child processes, all before the result', async () => {
    const events: ExecutionEvent[] = []
    for await (const event of session.execute(
      'import os, sys, subprocess\nprint("a")\nsys.stdout.write("b\\n")\nos.write(1, b"c\\n")\nsubprocess.run(["echo", "d"])\nprint("e", file=sys.stderr)\nos.write(2, b"f\\n")\n7',
    )) {
      events.push(event)
    }
    const last = events.at(-1)!
    expect(last.type).toBe('result')
    const stdout = events.flatMap((e) => (e.type === 'stdout' ? [e.text] : [])).join('')
    const stderr = events.flatMap((e) => (e.type === 'stderr' ? [e.text] : [])).join('')
    expect(stdout.split('\n').filter(Boolean).sort()).toEqual(['a', 'b', 'c', 'd'])
    expect(stderr.split('\n').filter(Boolean).sort()).toEqual(['e', 'f'])
    if (last.type === 'result') expect(last.result.stdout).toBe(stdout)
  })

  test('streams output as it happens, not only at the end', async () => {
    const seen: string[] = []
    for await (const event of session.execute(
      'import time\nprint("early", flush=True)\ntime.sleep(0.3)\nprint("late")',
    )) {
      if (event.type === 'stdout') seen.push(event.text)
      if (event.type === 'stdout' && event.text.includes('early')) expect(seen.join('')).not.toContain('late')
    }
    expect(seen.join('')).toContain('late')
  })

  test('display() sends a display event mid-execution', async () => {
    const result = await session.run(
      'class D:\n  def _repr_svg_(self): return "<svg/>"\n  def __repr__(self): return "D"\ndisplay(D())\nprint("after")',
    )
    expect(result.displays).toEqual([
      { data: { 'text/plain': 'D', 'image/svg+xml': '<svg/>' }, metadata: {} },
    ])
    expect(result.stdout).toBe('after\n')
  })

  test('an exception comes back as ename, evalue and the user frames only', async () => {
    const result = await session.run('def f():\n    raise ValueError("bad value")\nf()')
    expect(result.status).toBe('error')
    expect(result.error?.ename).toBe('ValueError')
    expect(result.error?.evalue).toBe('bad value')
    const traceback = result.error!.traceback.join('')
    expect(traceback).toContain('<cell-')
    expect(traceback).toContain('raise ValueError')
    expect(traceback).not.toContain('capsule_worker')
  })

  test('a SyntaxError points at the line in the cell', async () => {
    const result = await session.run('a = 1\nb = (\n')
    expect(result.error?.ename).toBe('SyntaxError')
    expect(result.error!.traceback.join('')).toMatch(/line 2/)
  })

  test('top-level await, async for, async with and async def work', async () => {
    const result = await session.run(
      [
        'import asyncio, contextlib',
        'async def gen():',
        '    for i in range(3):',
        '        await asyncio.sleep(0)',
        '        yield i',
        '@contextlib.asynccontextmanager',
        'async def ctx():',
        '    yield 10',
        'total = 0',
        'async for i in gen():',
        '    total += i',
        'async with ctx() as ten:',
        '    total += ten',
        'await asyncio.sleep(0.01)',
        'total',
      ].join('\n'),
    )
    expect(result.error).toBeNull()
    expect(result.value?.['text/plain']).toBe('13')
  })

  test('input() and getpass() round-trip to the host through the input event', async () => {
    const prompts: Array<[string, boolean]> = []
    let result: unknown
    for await (const event of session.execute(
      'import getpass\nname = input("name? ")\npw = getpass.getpass("pw? ")\n(name, pw)',
    )) {
      if (event.type === 'input') {
        prompts.push([event.prompt, event.password])
        event.reply(event.password ? 'hunter2' : 'Ada')
      }
      if (event.type === 'result') result = event.result.value?.['text/plain']
    }
    expect(prompts).toEqual([
      ['name? ', false],
      ['pw? ', true],
    ])
    expect(result).toBe("('Ada', 'hunter2')")
  })

  test('input() can be answered by an onInput handler or from elsewhere by promise id', async () => {
    const viaHandler = await session.run('input("q1")', { onInput: ({ prompt }) => `answer to ${prompt}` })
    expect(viaHandler.value?.['text/plain']).toBe("'answer to q1'")

    const execution = session.execute('input("q2")')
    for await (const event of execution) {
      if (event.type === 'input') capsule.promises.resolve(event.promiseId, 'from afar')
      if (event.type === 'result') expect(event.result.value?.['text/plain']).toBe("'from afar'")
    }
  })

  test('caps output per execution and says how much was dropped', async () => {
    const small = new Capsule({ sandbox: 'none', python, codec, limits: { maxOutputBytes: 10_000 } })
    try {
      const capped = await small.session()
      const result = await capped.run('for i in range(5000):\n    print("x" * 20)\n"done"')
      expect(result.value?.['text/plain']).toBe("'done'")
      expect(result.stdout.length).toBeLessThanOrEqual(10_000)
      expect(result.outputTruncatedBytes).toBeGreaterThan(90_000)
      expect(result.stderr).toContain('truncated')
    } finally {
      await small.close()
    }
  })
})

import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Capsule, isCapsuleError, type Session } from '../../src/index.js'
import { testProvider } from '../fixtures.js'
import { defaultPython, sandboxedPython } from '../pythons.js'

const key = randomBytes(32)
const capsules: Capsule[] = []
function capsule(options: ConstructorParameters<typeof Capsule>[0] = {}): Capsule {
  const made = new Capsule({
    python: defaultPython.python,
    sandbox: 'none',
    providers: [testProvider()],
    checkpointKey: key,
    ...options,
  })
  capsules.push(made)
  return made
}
afterAll(async () => {
  await Promise.all(capsules.map((c) => c.close()))
})

const CELLS = [
  'import json, collections\nfrom math import sqrt as root',
  'class Point:\n    def __init__(self, x, y):\n        self.x, self.y = x, y\n    def norm(self):\n        return root(self.x ** 2 + self.y ** 2)',
  'def make_scale(k):\n    def scale(v):\n        return v * k\n    return scale\ntriple = make_scale(3)\nsquare = lambda v: v * v',
  'data = {"rows": list(range(5)), "blob": b"\\x00\\xff", "nested": {"p": Point(3, 4)}}\nalias = data\nechoer = echo\ncounter = collections.Counter("hello")',
  'import random\nrandom.seed(11)\nhandle = open("/dev/null")\ngen = (i for i in range(3))',
]

describe('checkpoints', () => {
  let source: Session
  beforeAll(async () => {
    source = await capsule().session()
    for (const cell of CELLS) expect((await source.run(cell)).status).toBe('ok')
  })

  test('a checkpoint restores data, definitions, closures, modules and capability references in a new session', async () => {
    const checkpoint = await source.checkpoint()
    expect(checkpoint.id).toBeUndefined()
    expect(checkpoint.header.names.lost.map((n) => n.name).sort()).toEqual(['gen', 'handle'])
    const expectedNext = (await source.run('random.random()')).value?.['text/plain']
    const restored = await capsule().session({ restore: checkpoint.bytes })
    const report = restored.lastRestore!
    expect(report.redefined).toEqual(
      expect.arrayContaining(['Point', 'make_scale', 'json', 'collections', 'root']),
    )
    expect(report.restored).toEqual(
      expect.arrayContaining(['data', 'alias', 'triple', 'square', 'echoer', 'counter']),
    )
    const check = await restored.run(
      '(data["nested"]["p"].norm(), triple(5), square(4), alias is data, data["blob"], echoer("hi"), counter["l"], json.dumps([1]))',
    )
    expect(check.value?.['text/plain']).toBe("(5.0, 15, 16, True, b'\\x00\\xff', 'hi', 2, '[1]')")
    expect((await restored.run('random.random()')).value?.['text/plain']).toBe(expectedNext)
    const seen = await restored.run(
      'import capsule\nr = capsule.last_restore()\n(sorted(x["name"] for x in r["lost"]) if r else None)',
    )
    expect(seen.value?.['text/plain']).toBe("['gen', 'handle']")
  })

  test('a policy narrowed between checkpoint and restore leaves the capability absent and says so', async () => {
    const checkpoint = await source.checkpoint()
    const narrowed = await capsule().session({ restore: checkpoint, deny: ['test.echo'] })
    const report = narrowed.lastRestore!
    expect(report.missingCapabilities).toEqual(['test.echo'])
    expect(report.lost).toContainEqual({ name: 'echoer', reason: 'capability test.echo is not granted' })
    expect((await narrowed.run('echo')).error?.ename).toBe('NameError')
  })

  test('a tampered, truncated, foreign or other-key checkpoint is refused before it reaches a worker', async () => {
    const { bytes } = await source.checkpoint()
    const tampered = Uint8Array.from(bytes)
    tampered[tampered.length >> 1] = (tampered[tampered.length >> 1] ?? 0) ^ 1
    const other = new Capsule({
      python: defaultPython.python,
      sandbox: 'none',
      checkpointKey: randomBytes(32),
    })
    capsules.push(other)
    const attempts: [Capsule, Uint8Array][] = [
      [capsule(), tampered],
      [capsule(), bytes.subarray(0, bytes.length - 7)],
      [capsule(), Buffer.from('{"not": "a checkpoint"}')],
      [other, bytes],
    ]
    for (const [host, attempt] of attempts) {
      const error = await host.session({ restore: attempt }).catch((e) => e)
      expect(isCapsuleError(error, 'CHECKPOINT_INVALID')).toBe(true)
    }
    expect(capsule().info().sessions).toBe(0)
  })

  test('a restored session checkpoints again with everything, and a function redefined after the restore wins', async () => {
    const first = await capsule().session({ restore: await source.checkpoint() })
    const redefine =
      'def make_scale(k):\n    def scale(v):\n        return -v * k\n    return scale\nnegate = make_scale(2)'
    expect((await first.run(redefine)).status).toBe('ok')
    const again = await first.checkpoint()
    expect(again.header.names.lost).toEqual([])
    const second = await capsule().session({ restore: again })
    const report = second.lastRestore!
    expect(report.lost).toEqual([])
    expect(report.redefined).toEqual(
      expect.arrayContaining(['Point', 'make_scale', 'json', 'collections', 'root']),
    )
    expect(report.restored).toEqual(
      expect.arrayContaining(['data', 'alias', 'triple', 'square', 'echoer', 'counter', 'negate']),
    )
    const check = await second.run(
      '(data["nested"]["p"].norm(), type(data["nested"]["p"]) is Point, triple(5), negate(5), make_scale(1)(3), square(4), alias is data, echoer("hi"), counter["l"], json.dumps([1]))',
    )
    expect(check.value?.['text/plain']).toBe("(5.0, True, 15, -10, -3, 16, True, 'hi', 2, '[1]')")
    // A third cycle carries the same definitions, not one more copy of them.
    const third = await capsule().session({ restore: await second.checkpoint() })
    expect(third.lastRestore).toEqual(second.lastRestore)
    const [taken, retaken] = [await second.checkpoint(), await third.checkpoint()]
    expect(retaken.bytes.length).toBe(taken.bytes.length)
    expect(await third.run('make_scale(1)(3), Point(6, 8).norm()')).toMatchObject({
      value: { 'text/plain': '(-3, 10.0)' },
    })
  })

  test('session.restore() into a running session, and an unknown journal id', async () => {
    const target = await capsule().session()
    await target.run('kept = "mine"')
    const report = await target.restore(await source.checkpoint())
    expect(report.restored).toContain('data')
    expect((await target.run('(kept, len(data["rows"]))')).value?.['text/plain']).toBe("('mine', 5)")
    const error = await target.restore('cp_nope').catch((e) => e)
    expect(isCapsuleError(error, 'UNKNOWN_RECORD')).toBe(true)
  })
})

describe.skipIf(!sandboxedPython)('a hostile checkpoint', () => {
  test('a pickle with a hostile __reduce__ runs only inside the sandboxed worker that loads it', async () => {
    const host = capsule({ python: sandboxedPython, sandbox: 'bwrap' })
    const attacker = await host.session()
    const cell = [
      'import os',
      'class Evil:',
      '    def __reduce__(self):',
      '        return (os.system, ("id -u > /tmp/owned; touch /tmp/capsule-owned-marker",))',
      'payload = Evil()',
    ].join('\n')
    expect((await attacker.run(cell)).status).toBe('ok')
    const checkpoint = await attacker.checkpoint()
    const victim = await host.session({ restore: checkpoint })
    const where = await victim.run('open("/tmp/owned").read().strip()')
    expect(where.value?.['text/plain']).not.toBe("'0'")
    const { existsSync } = await import('node:fs')
    expect(existsSync('/tmp/capsule-owned-marker')).toBe(false)
  })
})

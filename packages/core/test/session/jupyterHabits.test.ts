import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Capsule, type Session } from '../../src/index.js'
import { defaultPython } from '../pythons.js'

describe('Jupyter habits in a session', () => {
  let capsule: Capsule
  let session: Session

  beforeAll(async () => {
    capsule = new Capsule({ sandbox: 'none', python: defaultPython.python, level: 'restricted' })
    session = await capsule.session()
  })
  afterAll(() => capsule.close())

  test('a trailing semicolon hides the value, one in a string or a comment does not', async () => {
    expect((await session.run('hidden = 41\nhidden + 1;')).value).toBeNull()
    expect((await session.run('"a;b"  # ;')).value).toEqual({ 'text/plain': "'a;b'" })
  })

  test('_, __ and ___ hold the last values shown', async () => {
    await session.run('"one"')
    await session.run('"two"')
    await session.run('ignored = 3;')
    await session.run('"three"')
    expect((await session.run('(_, __, ___)')).value?.['text/plain']).toBe("('three', 'two', 'one')")
  })

  test('%time and %who run, and an unknown magic is a UsageError that names the supported ones', async () => {
    const timed = await session.run('%time sum(range(1000))')
    expect(timed.value).toEqual({ 'text/plain': '499500' })
    expect(timed.stdout).toMatch(/^CPU times: user .+\nWall time: .+\n$/)
    const unknown = await session.run('%load_ext autoreload')
    expect(unknown.status).toBe('error')
    expect(unknown.error?.ename).toBe('UsageError')
    expect(unknown.error?.evalue).toContain('%timeit')
    const cell = await session.run('%%time\n1')
    expect(cell.error?.ename).toBe('UsageError')
  })
})

// /usr/bin/python3 on Debian has matplotlib; pyenv's python3 does not.
const plotting = '/usr/bin/python3'
const hasMatplotlib = spawnSync(plotting, ['-c', 'import matplotlib']).status === 0

describe.skipIf(!hasMatplotlib)(`inline matplotlib figures (needs matplotlib for ${plotting})`, () => {
  let capsule: Capsule
  let session: Session
  let configDir: string

  beforeAll(async () => {
    // matplotlib's font cache goes to a directory of the test's own.
    configDir = mkdtempSync(join(tmpdir(), 'capsule-mpl-'))
    capsule = new Capsule({
      sandbox: 'none',
      python: plotting,
      level: 'restricted',
      env: { MPLCONFIGDIR: configDir },
    })
    session = await capsule.session()
  }, 60_000)
  afterAll(async () => {
    await capsule.close()
    rmSync(configDir, { recursive: true, force: true })
  })

  test('a cell that plots displays a PNG; a trailing semicolon hides the Line2D list', async () => {
    const result = await session.run('import matplotlib.pyplot as plt\nplt.plot([1, 3, 2]);')
    expect(result.status).toBe('ok')
    expect(result.value).toBeNull()
    expect(result.displays).toHaveLength(1)
    const data = result.displays[0]!.data
    expect(data['text/plain']).toBe('<Figure size 640x480 with 1 Axes>')
    expect(Buffer.from(data['image/png'] as string, 'base64').subarray(0, 4)).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47]),
    )
    expect((await session.run('plt.get_fignums()')).value?.['text/plain']).toBe('[]')
  }, 60_000)

  test('a Figure as the value is the result, in SVG when asked', async () => {
    const result = await session.run(
      'import capsule\ncapsule.set_figure_format("svg")\nfig, ax = plt.subplots()\nax.bar([1, 2], [3, 4])\nfig',
    )
    expect(result.displays).toEqual([])
    expect(Object.keys(result.value ?? {}).sort()).toEqual(['image/svg+xml', 'text/plain'])
    expect(result.value?.['image/svg+xml']).toContain('<svg')
  }, 60_000)
})

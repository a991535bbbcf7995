// The floor peers and the worker-profile cell wrapper against a real Python: they work and hand back
// the right number of samples, whatever the timings are.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { NodeInitiatedFloor, PythonInitiatedFloor } from '../rawPipe.js'
import { profiledCell, saveCellProfile } from '../workerProfile.js'

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'

function runPython(code: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', code], { stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.on('error', reject)
    child.on('close', (exit) => resolve({ code: exit, stdout }))
  })
}

describe.each([
  ['sleeping', false],
  ['polling', true],
])('raw pipe floors, both sides %s', (_, awake) => {
  test('Node-initiated round trips: one positive latency per trip', async () => {
    const floor = new NodeInitiatedFloor(PYTHON, awake)
    try {
      const times = await floor.roundTrips(50)
      expect(times).toHaveLength(50)
      expect(times.every((time) => Number.isFinite(time) && time > 0)).toBe(true)
    } finally {
      await floor.close()
    }
  })

  test('Python-initiated round trips and pipelined frames, repeatedly over one peer', async () => {
    const floor = new PythonInitiatedFloor(PYTHON, awake)
    try {
      for (const count of [40, 7]) {
        const times = await floor.roundTrips(count)
        expect(times).toHaveLength(count)
        expect(times.every((time) => Number.isFinite(time) && time > 0)).toBe(true)
      }
      const rate = await floor.pipelined(2000, 64)
      expect(Number.isFinite(rate) && rate > 0).toBe(true)
    } finally {
      await floor.close()
    }
  })
})

describe('worker cell profiles', () => {
  const dir = mkdtemp(join(tmpdir(), 'capsule-bench-profile-'))
  afterAll(async () => rm(await dir, { recursive: true, force: true }))

  test('a profiled cell yields a .pstats file pstats can load, and a summary naming the hot function', async () => {
    const code =
      'def busy_loop():\n    return sum(i * i for i in range(20000))\nfor _ in range(20):\n    busy_loop()'
    const cell = await runPython(profiledCell(code))
    expect(cell.code).toBe(0)
    const summary = await saveCellProfile(cell.stdout, await dir, 'cell')
    expect(summary[0]).toBe(`worker cProfile (cell) → ${join(await dir, 'cell.pstats')}`)
    expect(summary[1]).toContain('ncalls')
    expect(await readFile(join(await dir, 'cell.txt'), 'utf8')).toContain('busy_loop')
    const loaded = await runPython(
      `import pstats\ns = pstats.Stats(${JSON.stringify(join(await dir, 'cell.pstats'))})\nprint(any(f[2] == "busy_loop" and s.stats[f][0] == 20 for f in s.stats))`,
    )
    expect(loaded.stdout.trim()).toBe('True')
  })

  test('output without the stats line is reported, not written', async () => {
    expect(await saveCellProfile('hello\n', await dir, 'none')).toEqual([
      'none: the profiled cell printed no stats',
    ])
    expect(existsSync(join(await dir, 'none.pstats'))).toBe(false)
  })
})

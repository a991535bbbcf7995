import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { compareRuns, formatComparison, movementOf } from '../compare.js'
import { againstFloor, type Figure, floorFigure } from '../figures.js'
import { formatSections, formatTargets } from '../report.js'
import {
  BenchResultsError,
  buildResults,
  parseBenchResults,
  RESULTS_FORMAT,
  readBenchResults,
} from '../results.js'

const floor = floorFigure('pipeline.msgpack.floor.node.p50', 'raw pipe', 40, 'µs', 'lower')
const run = (value: number, floorValue = 40): Figure =>
  againstFloor(
    { ...floor, value: floorValue },
    {
      id: 'pipeline.msgpack.run.p50',
      label: "run('1+1')",
      value,
      target: { kind: 'ratio-at-most', limit: 1.5 },
    },
  )
const rate = (value: number): Figure => ({
  id: 'pipeline.msgpack.call.gathered',
  label: 'gathered',
  value,
  unit: 'calls/s',
  better: 'higher',
  target: { kind: 'at-least', limit: 100_000 },
})

function saved(figures: Figure[]) {
  return buildResults(
    {
      startedAt: new Date('2025-01-01T00:00:00Z'),
      durationMs: 1234.5,
      loadAverageAtStart: [0.5, 1.234, 2],
      git: { commit: 'abc', dirty: false },
      python: { executable: '/usr/bin/python3', version: '3.11.2' },
      benchmarks: ['pipeline'],
      distorted: false,
    },
    figures,
    [{ id: 'startup.bwrap.p50', label: 'bwrap', reason: 'bubblewrap cannot run' }],
  )
}

describe('the saved JSON', () => {
  const dir = mkdtemp(join(tmpdir(), 'capsule-bench-'))
  afterAll(async () => rm(await dir, { recursive: true, force: true }))

  test('round-trips through a file, with ratio and verdict written out for a reader', async () => {
    const results = saved([floor, run(120), rate(150_000)])
    const file = join(await dir, 'run.json')
    await writeFile(file, JSON.stringify(results))
    const read = await readBenchResults(file)
    expect(read.format).toBe(RESULTS_FORMAT)
    expect(read.durationMs).toBe(1235)
    expect(read.figures.map((figure) => [figure.id, figure.ratio, figure.verdict])).toEqual([
      ['pipeline.msgpack.floor.node.p50', undefined, undefined],
      ['pipeline.msgpack.run.p50', 3, 'MISS'],
      ['pipeline.msgpack.call.gathered', undefined, 'PASS'],
    ])
    expect(read.skipped).toEqual([
      { id: 'startup.bwrap.p50', label: 'bwrap', reason: 'bubblewrap cannot run' },
    ])
    expect(read.host.cpus).toBeGreaterThan(0)
    expect(read.host.loadAverageAtStart).toEqual([0.5, 1.23, 2])
  })

  test('a file of another format or shape is refused with each problem named', () => {
    const wrong = { ...saved([floor]), format: 'capsule-bench/0' }
    expect(() => parseBenchResults(JSON.stringify(wrong), 'old.json')).toThrow(BenchResultsError)
    expect(() => parseBenchResults(JSON.stringify(wrong), 'old.json')).toThrow(
      /old\.json is not a capsule-bench\/1 file:\n {2}format:/,
    )
    const broken = { ...saved([floor]), figures: [{ id: 'x', value: 'fast' }] }
    expect(() => parseBenchResults(JSON.stringify(broken), 'b.json')).toThrow(/figures\.0\.value/)
    expect(() => parseBenchResults('{', 'c.json')).toThrow('c.json is not JSON')
  })
})

describe('--compare', () => {
  test('movement follows the direction in which a figure improves, with a noise band', () => {
    expect(movementOf(100, 80, 'lower')).toBe('better')
    expect(movementOf(100, 80, 'higher')).toBe('worse')
    expect(movementOf(100, 109, 'lower')).toBe('same')
    expect(movementOf(0, 5, 'lower')).toBe('same')
  })

  test('matches figures by id, compares the floor ratio too, and lists the unmatched', () => {
    const before = saved([floor, run(120), { ...rate(20_000), id: 'gone' }])
    // Slower in absolute terms, but the floor rose more: the ratio improved.
    const comparison = compareRuns([{ ...floor, value: 80 }, run(160, 80), rate(150_000)], before)
    const compared = comparison.figures.find((figure) => figure.id === 'pipeline.msgpack.run.p50')!
    expect(compared).toMatchObject({
      saved: 120,
      current: 160,
      movement: 'worse',
      savedRatio: 3,
      currentRatio: 2,
      ratioMovement: 'better',
      savedVerdict: 'MISS',
      currentVerdict: 'MISS',
    })
    expect(compared.change).toBeCloseTo(4 / 3)
    expect(comparison.onlyCurrent).toEqual(['pipeline.msgpack.call.gathered'])
    expect(comparison.onlySaved).toEqual(['gone'])
    const lines = formatComparison(comparison, 'before.json')
    expect(lines[0]).toContain('before.json')
    expect(lines.find((line) => line.includes("run('1+1')"))).toMatch(
      /120 → 160 µs\s+1\.33× WORSE\s+floor ratio 3\.00 → 2\.00 better/,
    )
    expect(lines).toContain('  new here: pipeline.msgpack.call.gathered')
    expect(lines).toContain('  only in the saved run: gone')
  })

  test('a verdict that changes is spelled out', () => {
    const comparison = compareRuns([run(50)], saved([run(120)]))
    expect(formatComparison(comparison, 's').join('\n')).toContain('MISS → PASS')
  })
})

describe('the table', () => {
  test('each figure shows its floor, ratio, target and verdict; skips and failures are listed', () => {
    const sections = [
      { name: 'pipeline', figures: [floor, run(50), rate(90_000)], skipped: [] },
      {
        name: 'startup',
        figures: [],
        skipped: [
          { id: 'startup.bwrap.p50', label: 'bwrap', reason: 'bubblewrap cannot run' },
          { id: 'pool', label: 'pool', reason: 'worker exited', failed: true },
        ],
      },
    ]
    const table = formatSections(sections)
    expect(table[0]).toBe('── pipeline')
    expect(table.find((line) => line.includes("run('1+1')"))).toMatch(
      /50\.0 µs\s+floor 40\.0\s+1\.25×\s+target ≤ 1\.5× floor\s+PASS$/,
    )
    expect(table.find((line) => line.includes('raw pipe'))).toContain('(floor)')
    expect(table).toContain('  bwrap: skipped (bubblewrap cannot run)')
    expect(table).toContain('  pool: FAILED (worker exited)')
    const targets = formatTargets(sections)
    expect(targets[0]).toBe('Targets: 1 of 2 met')
    expect(targets.filter((line) => line.trimStart().startsWith('MISS'))).toHaveLength(1)
    expect(targets.some((line) => line.trimStart().startsWith('SKIP  bwrap'))).toBe(true)
    expect(targets.some((line) => line.trimStart().startsWith('FAIL  pool'))).toBe(true)
  })
})

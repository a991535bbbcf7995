import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { importCycles, importGraph, sourceFiles } from './importGraph.js'

const SRC = path.resolve(import.meta.dirname, '../../src')
const relative = (cycles: string[][]) => cycles.map((cycle) => cycle.map((file) => path.relative(SRC, file)))

// None is known: a new cycle fails this test.
const KNOWN_CYCLES: string[][] = []

describe('the import graph of packages/core/src', () => {
  test('has no import cycle (type-only imports count), beyond the known one', () => {
    const graph = importGraph(sourceFiles(SRC))
    expect(graph.size).toBeGreaterThan(40)
    expect(relative(importCycles(graph))).toEqual(KNOWN_CYCLES)
  })

  test('the options schema and the config loader import nothing that imports them back', () => {
    const graph = importGraph(sourceFiles(SRC))
    const capsule = path.join(SRC, 'capsule.ts')
    expect(graph.get(path.join(SRC, 'config/capsuleConfig.ts'))).not.toContain(capsule)
    expect(graph.get(path.join(SRC, 'config/capsuleOptionsSchema.ts'))).not.toContain(capsule)
  })

  test('reads type-only imports and re-exports as edges, and leaves packages out', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'capsule-import-graph-'))
    try {
      writeFileSync(path.join(dir, 'a.ts'), "import type { B } from './b.js'\nimport { z } from 'zod'\n")
      writeFileSync(path.join(dir, 'b.ts'), "export type { A } from './a.js'\nexport type B = 1\n")
      const graph = importGraph(sourceFiles(dir))
      expect(graph.get(path.join(dir, 'a.ts'))).toEqual([path.join(dir, 'b.ts')])
      expect(importCycles(graph)).toEqual([[path.join(dir, 'a.ts'), path.join(dir, 'b.ts')]])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  test('the walk finds a cycle and leaves a chain alone', () => {
    const graph = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
      ['e', ['e']],
    ])
    expect(importCycles(graph)).toEqual([['a', 'b', 'c'], ['e']])
    expect(
      importCycles(
        new Map([
          ['a', ['b']],
          ['b', []],
        ]),
      ),
    ).toEqual([])
  })
})

import { describe, expect, test } from 'vitest'
import { type CpuProfile, shortenUrl, summarizeCpuProfile } from '../cpuProfile.js'

const node = (id: number, functionName: string, url = '', lineNumber = 0) => ({
  id,
  callFrame: { functionName, url, lineNumber },
})

describe('summarizeCpuProfile', () => {
  const profile: CpuProfile = {
    nodes: [
      node(1, '(root)'),
      node(2, '(idle)'),
      node(3, 'decode', 'file:///repo/packages/core/src/protocol/codec.ts', 9),
      node(4, 'parse', 'file:///repo/node_modules/.pnpm/zod@4.1.0/node_modules/zod/v4/core.js', 99),
      node(5, 'decode', 'file:///repo/packages/core/src/protocol/codec.ts', 9),
      node(6, ''),
    ],
    startTime: 0,
    endTime: 10_000,
    samples: [2, 3, 4, 5, 3, 6, 2],
    timeDeltas: [5000, 1000, 1500, 500, 1000, 1000, 9000],
  }

  test('adds own time per function across call-tree nodes, leaves idle out of the shares', () => {
    const hot = summarizeCpuProfile(profile, 10, '/repo')
    expect(hot.map((fn) => [fn.name, fn.selfMs, fn.percent])).toEqual([
      ['decode packages/core/src/protocol/codec.ts:10', 2.5, 50],
      ['parse zod/v4/core.js:100', 1.5, 30],
      ['(anonymous)', 1, 20],
      ['(root)', 0, 0],
    ])
  })

  test('keeps only the top entries', () => {
    expect(summarizeCpuProfile(profile, 1, '/repo')).toHaveLength(1)
  })

  test('without samples it spreads the duration over hit counts', () => {
    const counted: CpuProfile = {
      nodes: [
        { ...node(1, 'a'), hitCount: 3 },
        { ...node(2, 'b'), hitCount: 1 },
      ],
      startTime: 0,
      endTime: 4000,
    }
    expect(summarizeCpuProfile(counted).map((fn) => [fn.name, fn.selfMs])).toEqual([
      ['a', 3],
      ['b', 1],
    ])
  })

  test('shortens package and repository paths', () => {
    expect(shortenUrl('file:///r/node_modules/.pnpm/undici@7/node_modules/undici/lib/x.js', '/r')).toBe(
      'undici/lib/x.js',
    )
    expect(shortenUrl('file:///r/bench/main.ts', '/r')).toBe('bench/main.ts')
    expect(shortenUrl('node:internal/streams', '/r')).toBe('node:internal/streams')
  })
})

import { describe, expect, test } from 'vitest'
import { BenchUsageError, parseBenchArgs, selectBenchmarks } from '../benchArgs.js'
import { BENCHMARKS } from '../benchmarks.js'
import { backendSlug } from '../durabilityBench.js'

describe('parseBenchArgs', () => {
  test('defaults: every benchmark, both codecs, full iteration counts, no output file', () => {
    expect(parseBenchArgs([])).toEqual({ only: [], list: false, codec: 'both', scale: 1, help: false })
  })

  test('--json takes a file, or means stdout when no file follows', () => {
    expect(parseBenchArgs(['--json', 'out.json']).json).toBe('out.json')
    expect(parseBenchArgs(['--json']).json).toBe('-')
    expect(parseBenchArgs(['--json', '--quick']).json).toBe('-')
    expect(parseBenchArgs(['--json', '--quick']).scale).toBe(0.2)
    expect(parseBenchArgs(['--json=x.json']).json).toBe('x.json')
  })

  test('--only splits on commas and repeats', () => {
    expect(parseBenchArgs(['--only', 'pipeline,stdout', '--only=fetch']).only).toEqual([
      'pipeline',
      'stdout',
      'fetch',
    ])
  })

  test('compare, profile, python and codec take their values', () => {
    const args = parseBenchArgs([
      '--compare',
      'a.json',
      '--profile',
      'prof',
      '--python',
      '/p',
      '--codec',
      'json',
    ])
    expect(args).toMatchObject({ compare: 'a.json', profile: 'prof', python: '/p', codec: 'json' })
  })

  test('a literal -- forwarded by pnpm is ignored', () => {
    expect(parseBenchArgs(['--', '--list']).list).toBe(true)
  })

  test.each([
    [['--compare'], '--compare needs a value'],
    [['--compare', '--quick'], '--compare needs a value'],
    [['--codec', 'xml'], '--codec must be msgpack, json or both (got "xml")'],
    [['--fast'], 'unknown argument "--fast"; see --help'],
    [['stray'], 'unknown argument "stray"; see --help'],
  ])('%j is refused with a usage error', (argv, message) => {
    const attempt = () => parseBenchArgs(argv)
    expect(attempt).toThrow(BenchUsageError)
    expect(attempt).toThrow(message)
  })
})

describe('selectBenchmarks', () => {
  const names = ['pipeline', 'stdout', 'fetch']

  test('all in registry order when nothing is asked for, else the asked ones in registry order', () => {
    expect(selectBenchmarks(names, [])).toEqual(names)
    expect(selectBenchmarks(names, ['fetch', 'pipeline'])).toEqual(['pipeline', 'fetch'])
  })

  test('an unknown name fails instead of running nothing', () => {
    expect(() => selectBenchmarks(names, ['pipelin'])).toThrow(
      'no benchmark named pipelin; known: pipeline, stdout, fetch',
    )
  })

  test('the registry names are unique and lower-case', () => {
    const registered = BENCHMARKS.map((benchmark) => benchmark.name)
    expect(new Set(registered).size).toBe(registered.length)
    for (const name of registered) expect(name).toMatch(/^[a-z][a-z0-9-]*$/)
  })
})

describe('backendSlug', () => {
  test('turns a backend description into a stable id part', () => {
    expect(backendSlug('sqlite (synchronous FULL, group commit)')).toBe(
      'sqlite_synchronous_full_group_commit',
    )
    expect(backendSlug('postgres (synchronous_commit on)')).toBe('postgres_synchronous_commit_on')
  })
})

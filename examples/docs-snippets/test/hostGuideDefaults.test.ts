// The defaults that docs/host-guide.md (and docs/limits.md) state are the code's: each documented limit and
// pool option is read from its table row and compared with DEFAULT_LIMITS / DEFAULT_POOL_OPTIONS, and
// every limit, pool option and Capsule option of the code has a row in the host guide.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { Capsule, DEFAULT_LIMITS, DEFAULT_POOL_OPTIONS } from '@capsule/core'
import { describe, expect, test } from 'vitest'

const REPO = resolve(import.meta.dirname, '../../..')
const read = (file: string) => readFileSync(resolve(REPO, file), 'utf8')

/** The first two cells of every table row of `markdown`: the name (backticks removed) and the default. */
function tableRows(markdown: string): { name: string; value: string }[] {
  return markdown
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|\s*-/.test(line))
    .map((line) => line.split('|').map((cell) => cell.trim()))
    .map(([, name = '', value = '']) => ({ name, value }))
}

const TIME_MS: Record<string, number> = { ms: 1, s: 1000, min: 60_000, h: 3_600_000 }
const SIZE_BYTES: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }

/** The unit a limit's name carries (`…Ms`, `…Bytes`, `…Mb`, `…Seconds`), as a scale in ms or bytes. */
function unitOf(key: string): { kind: 'time' | 'size' | 'count'; scale: number } {
  if (key.endsWith('Ms')) return { kind: 'time', scale: 1 }
  if (key.endsWith('Seconds')) return { kind: 'time', scale: 1000 }
  if (key.endsWith('Bytes')) return { kind: 'size', scale: 1 }
  if (key.endsWith('Mb')) return { kind: 'size', scale: 1024 ** 2 }
  return { kind: 'count', scale: 1 }
}

/**
 * A documented default in the unit of `key`: `5 min (0 = none)` for `executeTimeoutMs` is 300000, `10 MiB`
 * for `maxOutputBytes` is 10485760, `1024` for `memoryMb` is 1024, `none` is 0.
 */
function parseDefault(key: string, text: string): number {
  if (/^none\b/.test(text)) return 0
  const match = /^(\d[\d_,]*(?:\.\d+)?)\s*(ms|s|min|h|B|KiB|MiB|GiB)?(?![\w])/.exec(text)
  if (!match) throw new Error(`${key}: cannot read a default from "${text}"`)
  const number = Number(match[1]!.replace(/[_,]/g, ''))
  const unit = match[2]
  if (unit === undefined) return number
  const { kind, scale } = unitOf(key)
  const factor = kind === 'time' ? TIME_MS[unit] : kind === 'size' ? SIZE_BYTES[unit] : undefined
  if (factor === undefined)
    throw new Error(`${key}: "${text}" has a unit (${unit}) that does not fit the name`)
  return (number * factor) / scale
}

/** Rows named `` `prefix.key` `` in the host guide, as key → documented default. */
function guideDefaults(prefix: string): Map<string, number> {
  const out = new Map<string, number>()
  for (const { name, value } of tableRows(read('docs/host-guide.md'))) {
    const match = new RegExp(`^\`${prefix}\\.(\\w+)\`$`).exec(name)
    if (match) out.set(match[1]!, parseDefault(match[1]!, value))
  }
  return out
}

describe('docs/host-guide.md', () => {
  test('documents every limit with the default DEFAULT_LIMITS has', () => {
    const documented = Object.fromEntries(guideDefaults('limits'))
    expect(documented).toEqual({ ...DEFAULT_LIMITS })
  })

  test('documents every pool option with the default DEFAULT_POOL_OPTIONS has', () => {
    const documented = Object.fromEntries(guideDefaults('pool'))
    expect(documented).toEqual({ ...DEFAULT_POOL_OPTIONS })
  })

  test('has a row for every option of CapsuleOptions', () => {
    // CapsuleOptions is inferred from this schema: its top-level keys are the options.
    const source = read('packages/core/src/config/capsuleOptionsSchema.ts')
    const body =
      /export const capsuleOptionsSchema = z\.strictObject\(\{([\s\S]*?)\n\}\)/.exec(source)?.[1] ?? ''
    const options = [...body.matchAll(/^ {2}(\w+):/gm)].map((match) => match[1]).sort()
    expect(options.length).toBeGreaterThan(10)
    const rows = tableRows(read('docs/host-guide.md'))
      .map((row) => /^`(\w+)`$/.exec(row.name)?.[1])
      .filter((name) => options.includes(name))
    expect([...new Set(rows)].sort()).toEqual(options)
  })

  test('states the level and sandbox a Capsule gets without options', () => {
    const rows = new Map(tableRows(read('docs/host-guide.md')).map((row) => [row.name, row.value]))
    const capsule = new Capsule()
    expect(rows.get('`level`')).toBe(`\`'${capsule.level}'\``)
    expect(rows.get('`sandbox`')?.startsWith(`\`'${capsule.sandbox}'\``)).toBe(true)
  })

  test('reads defaults in the units their names carry', () => {
    expect(parseDefault('executeTimeoutMs', '5 min (0 = none)')).toBe(300_000)
    expect(parseDefault('maxOutputBytes', '10 MiB')).toBe(10 * 1024 * 1024)
    expect(parseDefault('memoryMb', '1 GiB')).toBe(1024)
    expect(parseDefault('cpuSeconds', 'none')).toBe(0)
    expect(() => parseDefault('maxProcesses', '128 ms')).toThrow(/does not fit/)
    expect(() => parseDefault('callTimeoutMs', 'thirty seconds')).toThrow(/cannot read/)
  })
})

describe('docs/limits.md', () => {
  test('states the defaults DEFAULT_LIMITS has, for each limit it lists', () => {
    const stated: Record<string, number> = {}
    for (const { name, value } of tableRows(read('docs/limits.md'))) {
      // `heartbeatIntervalMs` / `heartbeatTimeoutMs` | 5 s / 30 s
      const keys = name.split(' / ').map((part) => /^`(\w+)`$/.exec(part)?.[1])
      const values = value.split(' / ')
      keys.forEach((key, index) => {
        if (key && key in DEFAULT_LIMITS) stated[key] = parseDefault(key, values[index] ?? '')
      })
    }
    expect(Object.keys(stated).length).toBeGreaterThan(10)
    const expected = Object.fromEntries(
      Object.keys(stated).map((key) => [key, DEFAULT_LIMITS[key as keyof typeof DEFAULT_LIMITS]]),
    )
    expect(stated).toEqual(expected)
  })
})

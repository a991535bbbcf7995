import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { beforeAll, describe, expect, test } from 'vitest'
import { END_MARKER, HOST_GUIDE, START_MARKER, withOptionsTable } from '../../../../scripts/options-table.mjs'
import { capsuleConfigSchema } from '../../src/config/capsuleConfig.js'
import { capsuleOptionsSchema } from '../../src/config/capsuleOptionsSchema.js'

const SCRIPT = path.resolve(import.meta.dirname, '../../../../scripts/options-table.mjs')

/** Runs the generator in its own process (it builds a TypeScript program: seconds of CPU). */
function generate(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

let table = ''

beforeAll(async () => {
  const run = await generate()
  expect(run.code, run.stderr).toBe(0)
  table = run.stdout.trimEnd()
}, 60_000)

/** The option names of the table's rows, in order. */
const rowNames = (markdown: string) => [...markdown.matchAll(/^\| `(\w+)` \|/gm)].map((match) => match[1])

describe('the options table of docs/host-guide.md', () => {
  test('is what scripts/options-table.mjs generates from the schema (run it with --write after a change)', () => {
    const guide = readFileSync(HOST_GUIDE, 'utf8')
    expect(withOptionsTable(guide, table)).toBe(guide)
  })

  test('has one row per key of the options schema, documented, in the schema order', () => {
    expect(rowNames(table)).toEqual(Object.keys(capsuleOptionsSchema.shape))
    for (const line of table.split('\n').slice(2))
      expect(line).toMatch(/^\| `\w+` \| .+ \| (yes|no) \| \S.+ \|$/)
  })

  test('says "config file: yes" for exactly the keys the config-file schema accepts', () => {
    const yes = [...table.matchAll(/^\| `(\w+)` \| [^|]+ \| yes \|/gm)].map((match) => match[1]).sort()
    const configKeys = Object.keys(capsuleConfigSchema.shape).filter((key) => key !== '$schema')
    expect(yes).toEqual(configKeys.sort())
  })

  test('states the defaults the TSDoc gives (`@defaultValue`), and none where it gives none', () => {
    expect(table).toContain("| `level` | `'standard'` | yes |")
    expect(table).toContain('| `allow` | none | yes |')
  })

  test('a stale section is replaced between the markers and nowhere else; no markers is an error', () => {
    const stale = `# Guide\n\nbefore\n${START_MARKER}\n| old |\n${END_MARKER}\nafter\n`
    expect(withOptionsTable(stale, '| new |')).toBe(
      `# Guide\n\nbefore\n${START_MARKER}\n| new |\n${END_MARKER}\nafter\n`,
    )
    expect(() => withOptionsTable('# Guide\n', '| new |')).toThrow(/markers/)
  })
})

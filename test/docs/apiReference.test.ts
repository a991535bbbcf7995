// docs/api is generated from the JSDoc of every package's public exports (`pnpm docs:api`, TypeDoc with
// typedoc.json). This regenerates it into a temp dir, once, and fails on any difference, so the
// checked-in reference cannot fall behind the code.
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

const REPO = resolve(import.meta.dirname, '../..')
const CHECKED_IN = join(REPO, 'docs/api')

/** Every file under `root`, as paths relative to it, sorted. */
function listFiles(root: string): string[] {
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort()
}

let fresh: string
let generator: { status: number | null; output: string }

// Asynchronously: a worker whose event loop is blocked for long misses vitest's own RPC deadlines.
beforeAll(async () => {
  fresh = mkdtempSync(join(tmpdir(), 'capsule-api-docs-'))
  generator = await new Promise((resolveRun) => {
    const child = spawn(process.execPath, [join(REPO, 'node_modules/typedoc/bin/typedoc'), '--out', fresh], {
      cwd: REPO,
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    child.on('close', (status) => resolveRun({ status, output }))
  })
}, 120_000)

afterAll(() => {
  if (fresh) rmSync(fresh, { recursive: true, force: true })
})

describe('docs/api', () => {
  test('matches what `pnpm docs:api` generates from the JSDoc of the public exports', () => {
    expect(generator.status, generator.output).toBe(0)
    const want = listFiles(fresh)
    expect(want.length, 'TypeDoc wrote no pages').toBeGreaterThan(1)
    const have = listFiles(CHECKED_IN)
    const stale = [
      ...want.filter((file) => !have.includes(file)).map((file) => `missing: docs/api/${file}`),
      ...have.filter((file) => !want.includes(file)).map((file) => `not generated: docs/api/${file}`),
      ...want
        .filter((file) => have.includes(file))
        .filter(
          (file) => readFileSync(join(fresh, file), 'utf8') !== readFileSync(join(CHECKED_IN, file), 'utf8'),
        )
        .map((file) => `differs: docs/api/${file}`),
    ]
    expect(stale, 'docs/api is stale: run `pnpm docs:api` and commit the result').toEqual([])
  })
})

import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, test } from 'vitest'

// The suite proves itself: a child vitest runs the contract against a good provider and two broken
// ones (test/fixtures/providers.contract-fixture.ts), and this file checks which requirements failed.

interface AssertionResult {
  ancestorTitles: string[]
  title: string
  status: 'passed' | 'failed' | 'skipped' | 'pending' | 'todo'
  failureMessages: string[]
}

const here = path.dirname(fileURLToPath(import.meta.url))
const repoRoot = path.resolve(here, '../..')
const config = path.join(here, 'fixtures/vitest.contract-fixture.config.ts')
const vitestBin = path.join(
  path.dirname(createRequire(import.meta.url).resolve('vitest/package.json')),
  'vitest.mjs',
)

let results: AssertionResult[] = []

async function runFixtures(): Promise<AssertionResult[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'capsule-contract-self-'))
  const outputFile = path.join(dir, 'report.json')
  try {
    // The child must not think it is a worker of this run.
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')))
    const child = spawn(
      process.execPath,
      [vitestBin, 'run', '--config', config, '--reporter=json', `--outputFile=${outputFile}`],
      { cwd: repoRoot, env, stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let stderr = ''
    child.stderr.on('data', (chunk) => {
      stderr += chunk
    })
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    // Exit code 1 is expected (the broken providers fail); anything else means the run itself broke.
    if (code !== 1) throw new Error(`the fixture run exited with ${code}: ${stderr.slice(-2000)}`)
    const report = JSON.parse(await readFile(outputFile, 'utf8')) as {
      testResults: Array<{ assertionResults: AssertionResult[] }>
    }
    return report.testResults.flatMap((file) => file.assertionResults)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** `[id] scope: title` → `scope id`, for one provider's tests with the given status. */
function outcomes(provider: string, status: AssertionResult['status']): string[] {
  return results
    .filter((result) => result.ancestorTitles[0] === provider && result.status === status)
    .map((result) => {
      const match = /^\[([a-z0-9.-]+)\] ([a-z_]+):/.exec(result.title)
      return match ? `${match[2]} ${match[1]}` : `unparsed: ${result.title}`
    })
    .sort()
}

function failureOf(provider: string, id: string, scope: string): string {
  const result = results.find(
    (r) => r.ancestorTitles[0] === provider && r.title.startsWith(`[${id}] ${scope}:`),
  )
  return result?.failureMessages.join('\n') ?? ''
}

describe('the contract suite run against known providers', () => {
  beforeAll(async () => {
    results = await runFixtures()
  }, 90_000)

  test('a well-behaved provider passes every requirement it can exercise', () => {
    expect(outcomes('good', 'failed')).toEqual([])
    expect(outcomes('good', 'passed')).toContain('provider contract.coverage')
    expect(outcomes('good', 'passed')).toContain('read cancel.abort-within-1s')
    expect(outcomes('good', 'skipped')).toEqual([
      'count args.invalid-rejected',
      'count cancel.abort-within-1s',
      'count e2e.error-exceptions',
      'count errors.codes',
      'count policy.denied-by-rules',
      'write cancel.abort-within-1s',
    ])
  })

  test('a provider that misbehaves fails exactly the requirements it breaks', () => {
    expect(outcomes('broken', 'failed')).toEqual([
      'lax args.invalid-rejected',
      'lax e2e.error-exceptions',
      'leaky cancel.abort-within-1s',
      'lie e2e.async-call',
      'lie e2e.sync-call',
      'lie output.matches-schema',
      'mute meta.documented',
      'plain e2e.error-exceptions',
      'plain errors.codes',
      'plain policy.denied-by-rules',
      'stubborn cancel.abort-within-1s',
    ])
  })

  test('each failure says what is wrong', () => {
    expect(failureOf('broken', 'cancel.abort-within-1s', 'stubborn')).toContain(
      'did not settle within 1000 ms',
    )
    expect(failureOf('broken', 'cancel.abort-within-1s', 'leaky')).toContain(
      'work left running after the call settled: Timeout',
    )
    expect(failureOf('broken', 'policy.denied-by-rules', 'plain')).toContain('not a CapabilityError')
    expect(failureOf('broken', 'e2e.error-exceptions', 'plain')).toContain('not CapabilityDenied')
    expect(failureOf('broken', 'args.invalid-rejected', 'lax')).toContain(
      'the handler ran for invalid arguments',
    )
    expect(failureOf('broken', 'output.matches-schema', 'lie')).toContain('does not match the output schema')
    expect(failureOf('unregistrable', 'meta.names', 'provider')).toContain('"1.0" is not a semantic version')
    expect(failureOf('unregistrable', 'schema.python-signature', 'fetch_thing')).toContain(
      'input key "file-name" is not a Python parameter name',
    )
  })

  test('a provider the core cannot register fails its metadata, signature and every end-to-end requirement', () => {
    expect(outcomes('unregistrable', 'failed')).toEqual([
      'fetch_thing args.invalid-rejected',
      'fetch_thing e2e.async-call',
      'fetch_thing e2e.error-exceptions',
      'fetch_thing e2e.stub-signature',
      'fetch_thing e2e.sync-call',
      'fetch_thing schema.python-signature',
      'provider meta.names',
      'provider policy.denied-has-no-effect',
    ])
  })

  test('every provider run registers every requirement of the manifest', () => {
    for (const provider of ['good', 'broken', 'unregistrable']) {
      expect(outcomes(provider, 'passed')).toContain('provider contract.coverage')
    }
  })
})

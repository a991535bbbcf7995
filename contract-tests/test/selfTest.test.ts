import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, test } from 'vitest'

// The suite proves itself: a child vitest runs the contract against a good provider and broken ones
// (test/fixtures/providers.contract-fixture.ts), and this file checks which requirements failed.

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
    const passed = outcomes('good', 'passed')
    for (const expected of [
      'provider contract.coverage',
      'read cancel.abort-within-1s',
      'read progress.reaches-host',
      'write audit.secrets-redacted',
      'read leaks.released-after-calls',
      'provider leaks.released-by-dispose',
    ])
      expect(passed).toContain(expected)
    expect(outcomes('good', 'skipped')).toEqual([
      'count args.invalid-rejected',
      'count audit.secrets-redacted',
      'count cancel.abort-within-1s',
      'count e2e.error-exceptions',
      'count errors.codes',
      'count policy.denied-by-rules',
      'read audit.secrets-redacted',
      'write cancel.abort-within-1s',
    ])
  })

  test('a provider that misbehaves fails exactly the requirements it breaks', () => {
    expect(outcomes('broken', 'failed')).toEqual([
      'blab audit.secrets-redacted',
      'chatty progress.reaches-host',
      'lax args.invalid-rejected',
      'lax e2e.error-exceptions',
      'leaky cancel.abort-within-1s',
      'leaky leaks.released-after-calls',
      'lie e2e.async-call',
      'lie e2e.sync-call',
      'lie output.matches-schema',
      'litter leaks.released-after-calls',
      'mute meta.documented',
      'plain e2e.error-exceptions',
      'plain errors.codes',
      'plain policy.denied-by-rules',
      'provider leaks.released-by-dispose',
      'stubborn cancel.abort-within-1s',
      'stubborn leaks.released-after-calls',
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

  test('a timer left running by a successful call fails the leak requirement, naming the requirement that made the call', () => {
    const litter = failureOf('broken', 'leaks.released-after-calls', 'litter')
    expect(litter).toContain('after [output.matches-schema], 1 call that succeeded left Timeout ×1 running')
    expect(litter).toContain('after [e2e.sync-call], 1 call that succeeded left Timeout ×1 running')
    expect(failureOf('broken', 'leaks.released-after-calls', 'stubborn')).toContain(
      'after [e2e.error-exceptions], 1 call had not settled 1000 ms after the test ended',
    )
    expect(failureOf('broken', 'leaks.released-after-calls', 'leaky')).toContain(
      'after [cancel.abort-within-1s], 1 call that failed left Timeout ×1 running',
    )
  })

  test('an idle resource held between calls must be released by dispose()', () => {
    expect(failureOf('broken', 'leaks.released-by-dispose', 'provider')).toContain(
      'the provider has no dispose(), yet its calls left idle resources behind: hoard (held since [output.matches-schema]): Timeout ×1',
    )
  })

  test('progress that goes backwards or comes after the call settled fails the progress requirement', () => {
    const chatty = failureOf('broken', 'progress.reaches-host', 'chatty')
    expect(chatty).toContain('progress report 2 ({"done":1,"total":3}) goes back')
    expect(chatty).toContain('progress report 3 ({"done":3,"total":3}) came after the call settled')
  })

  test('a plain Error quoting a secret fails the secrets requirement, whatever the core redacts', () => {
    expect(failureOf('broken', 'audit.secrets-redacted', 'blab')).toContain(
      'the handler failed with a plain Error that quotes the secret',
    )
  })

  test('coverage fails when a cancellation or secrets requirement is skipped without the declaration it needs', () => {
    expect(outcomes('undeclared', 'failed')).toEqual(['provider contract.coverage'])
    expect(outcomes('undeclared', 'skipped')).toEqual([
      'whisper audit.secrets-redacted',
      'whisper cancel.abort-within-1s',
      'whisper errors.codes',
      'whisper policy.denied-by-rules',
    ])
    const coverage = failureOf('undeclared', 'contract.coverage', 'provider')
    expect(coverage).toContain('cancel.abort-within-1s was skipped for whisper without a reason')
    expect(coverage).toContain('noSlowCall')
    expect(coverage).toContain(
      'audit.secrets-redacted was skipped for whisper, which declares secretArgs [token]',
    )
    expect(coverage).not.toContain('has no test')
  })

  test('a provider the core cannot register fails its metadata, signature and every end-to-end requirement', () => {
    expect(outcomes('unregistrable', 'failed')).toEqual([
      'fetch_thing args.invalid-rejected',
      'fetch_thing e2e.async-call',
      'fetch_thing e2e.error-exceptions',
      'fetch_thing e2e.stub-signature',
      'fetch_thing e2e.sync-call',
      'fetch_thing progress.reaches-host',
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

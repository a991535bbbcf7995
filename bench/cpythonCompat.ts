// Runs CPython's own regression suites (Debian's libpython3.11-testsuite) twice — inside a sandboxed
// Capsule session and directly under the same interpreter — and prints the counts side by side, so a
// difference the sandbox causes is visible. Usage:
//   pnpm compat [--python /usr/bin/python3] [--sandbox bwrap|none] [--json] [suite ...]
// Suites are dotted names under `test.` (json, asyncio.test_tasks, …); without any, the full list runs.
import { spawn } from 'node:child_process'
import { Capsule } from '@capsule/core'
import { COMPAT_SUITES, countsOf, type SuiteCounts, suiteProgram } from './cpythonCompat/suites.js'

interface Row {
  suite: string
  direct: SuiteCounts | { error: string }
  sandboxed: SuiteCounts | { error: string }
}

const argv = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const at = argv.indexOf(name)
  if (at < 0) return undefined
  const value = argv[at + 1]
  argv.splice(at, 2)
  return value
}
const python = flag('--python') ?? '/usr/bin/python3'
const sandbox = (flag('--sandbox') ?? 'bwrap') as 'bwrap' | 'none'
const json = argv.includes('--json')
const suites = argv.filter((arg) => !arg.startsWith('--'))
const chosen = suites.length > 0 ? suites : COMPAT_SUITES

function runDirect(suite: string): Promise<SuiteCounts | { error: string }> {
  return new Promise((resolve) => {
    const child = spawn(python, ['-c', suiteProgram(suite)], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8')
    })
    child.stderr.resume()
    child.on('close', () => resolve(countsOf(out)))
  })
}

const capsule = new Capsule({
  level: 'standard',
  python,
  sandbox,
  limits: { executeTimeoutMs: 600_000 },
})
const rows: Row[] = []
try {
  for (const suite of chosen) {
    const direct = await runDirect(suite)
    // A fresh session per suite: suites leave threads, loops and modules behind.
    const session = await capsule.session()
    const result = await session.run(suiteProgram(suite))
    await session.close()
    const sandboxed =
      result.status === 'ok' ? countsOf(result.stdout) : { error: result.error?.evalue ?? result.status }
    rows.push({ suite, direct, sandboxed })
    if (!json) console.error(`ran ${suite}`)
  }
} finally {
  await capsule.close()
}

if (json) {
  console.log(JSON.stringify({ python, sandbox, rows }, null, 2))
} else {
  const cell = (counts: SuiteCounts | { error: string }) =>
    'error' in counts
      ? `error: ${counts.error}`.slice(0, 40)
      : `${counts.run}/${counts.failures}/${counts.errors}/${counts.skipped}`
  console.log(`python ${python}, sandbox ${sandbox}; counts are run/failures/errors/skipped`)
  console.log(`| suite | direct | in a session | same |\n|---|---|---|---|`)
  for (const row of rows) {
    const same = cell(row.direct) === cell(row.sandboxed) ? 'yes' : '**no**'
    console.log(`| ${row.suite} | ${cell(row.direct)} | ${cell(row.sandboxed)} | ${same} |`)
  }
  for (const row of rows) {
    const problems = (counts: SuiteCounts | { error: string }) =>
      new Set('error' in counts ? [] : counts.problems)
    const direct = problems(row.direct)
    const only = [...problems(row.sandboxed)].filter((problem) => !direct.has(problem))
    if (only.length > 0) console.log(`\nonly in the session, ${row.suite}:\n  ${only.join('\n  ')}`)
  }
}

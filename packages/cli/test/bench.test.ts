import { describe, expect, test } from 'vitest'
import { runCli } from './cliHarness.js'

describe('capsule bench', () => {
  test('measures start-up, cells and a capability round trip with the given flags, as JSON', async () => {
    const run = await runCli(['bench', '--sandbox', 'none', '--no-config', '-n', '20', '--json'])
    expect(run.code).toBe(0)
    const report = JSON.parse(run.stdout)
    expect(report).toMatchObject({ sandbox: 'none', level: 'standard', iterations: 20 })
    expect(report.figures.map((figure: { name: string }) => figure.name)).toEqual([
      'spawn-to-ready p50',
      "run('1+1') p50",
      "run('1+1') p99",
      'top-level-await cell p50',
      'capability round trip p50',
    ])
    for (const figure of report.figures) expect(figure.value).toBeGreaterThan(0)
  })

  test('refuses a bad iteration count with a one-line usage error', async () => {
    const run = await runCli(['bench', '-n', 'many'])
    expect(run.code).toBe(2)
    expect(run.stderr).toBe(
      'capsule bench: --iterations must be an integer from 10 to 1000000 (got many) (see capsule bench --help)\n',
    )
  })
})

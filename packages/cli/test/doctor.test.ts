import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { probeSandbox } from '@capsule/core'
import { describe, expect, test } from 'vitest'
import { runCli } from './cliHarness.js'

const sandboxProbe = await probeSandbox()
const isRoot = process.geteuid?.() === 0
const SYSTEM_PYTHON = '/usr/bin/python3'
const hasSystemPython = existsSync(SYSTEM_PYTHON)
const systemHasStack =
  hasSystemPython && spawnSync(SYSTEM_PYTHON, ['-I', '-c', 'import numpy, pandas, matplotlib']).status === 0
const noBwrap = sandboxProbe.available ? '' : ' (skipped: bubblewrap is unavailable here)'
const rootWhy = !isRoot
  ? ' (skipped: the host is not root)'
  : !hasSystemPython
    ? ` (skipped: no ${SYSTEM_PYTHON})`
    : noBwrap

const IDS = ['config', 'node', 'python', 'msgpack', 'bwrap', 'userns', 'uid-drop', 'cgroups', 'science']
const STATUSES = ['ok', 'warn', 'fail', 'skip']

interface Check {
  id: string
  status: string
  summary: string
  details: string[]
  fix?: string
}

async function doctor(
  args: string[],
): Promise<{ code: number | null; report: { ok: boolean; checks: Check[] } }> {
  const run = await runCli(['doctor', '--json', '--no-config', ...args])
  expect(run.stderr).toBe('')
  return { code: run.code, report: JSON.parse(run.stdout) }
}

function check(report: { checks: Check[] }, id: string): Check {
  const found = report.checks.find((entry) => entry.id === id)
  if (!found) throw new Error(`no ${id} check in ${JSON.stringify(report)}`)
  return found
}

describe('capsule doctor', () => {
  test('prints one JSON report whose every check has an id, a status, a summary, details, and a fix unless ok', async () => {
    const { code, report } = await doctor([])
    expect(report.checks.map((entry) => entry.id)).toEqual(IDS)
    for (const entry of report.checks) {
      expect(STATUSES).toContain(entry.status)
      expect(entry.summary).toMatch(/^[^\n]+$/)
      expect(Array.isArray(entry.details)).toBe(true)
      if (entry.status !== 'ok') expect(entry.fix, entry.id).toMatch(/\S/)
    }
    const failed = report.checks.some((entry) => entry.status === 'fail')
    expect(report.ok).toBe(!failed)
    expect(code).toBe(failed ? 1 : 0)
    const [major = 0] = process.versions.node.split('.').map(Number)
    expect(check(report, 'node').status).toBe(major === 20 ? 'warn' : 'ok')
    expect(check(report, 'python').status).toBe('ok')
    expect(check(report, 'config').status).toBe('ok')
  }, 120_000)

  test.skipIf(!sandboxProbe.available)(
    `reports bubblewrap working after a real probe run${noBwrap}`,
    async () => {
      const { report } = await doctor(['--python', SYSTEM_PYTHON])
      const bwrap = check(report, 'bwrap')
      expect(bwrap.status).toBe('ok')
      expect(bwrap.summary).toContain(`bubblewrap ${sandboxProbe.available ? sandboxProbe.version : ''}`)
      expect(check(report, 'userns').status).toBe('ok')
    },
    120_000,
  )

  test.skipIf(rootWhy !== '')(
    `on a root host, a sandboxed worker with ${SYSTEM_PYTHON} runs as a leased unprivileged uid${rootWhy}`,
    async () => {
      const { report } = await doctor(['--python', SYSTEM_PYTHON])
      const drop = check(report, 'uid-drop')
      expect(drop.status).toBe('ok')
      const uid = Number(/run as uid (\d+)/.exec(drop.summary)?.[1])
      expect(uid).toBeGreaterThanOrEqual(0x70000000)
      expect(uid).toBeLessThan(0x70000000 + 65536)
      expect(check(report, 'msgpack').status).toBe('ok')
      // Debian's numpy and matplotlib reach /etc (alternatives, matplotlibrc), which the sandbox hides.
      const science = check(report, 'science')
      if (systemHasStack && science.status === 'fail') {
        expect(science.summary).toContain('fail in the sandbox')
        expect(science.fix).toContain('"mounts"')
      }
    },
    120_000,
  )

  test.skipIf(!systemHasStack || sandboxProbe.available === false)(
    `imports numpy, pandas and matplotlib inside the sandbox, per package, with the config's mounts${systemHasStack ? noBwrap : ' (skipped: no scientific stack for /usr/bin/python3)'}`,
    async () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'capsule-doctor-'))
      try {
        const mounts = ['/etc/alternatives', '/etc/matplotlibrc']
          .filter((source) => existsSync(source))
          .map((source) => ({ source, write: false }))
        writeFileSync(path.join(dir, 'capsule.config.json'), JSON.stringify({ mounts }))
        const run = await runCli(['doctor', '--json', '--python', SYSTEM_PYTHON], { cwd: dir })
        const report = JSON.parse(run.stdout)
        const science = check(report, 'science')
        expect(science.status, science.details.join('\n')).toBe('ok')
        expect(science.details.map((line) => line.replace(/ [^ ]+: ok$/, ''))).toEqual([
          'numpy',
          'pandas',
          'matplotlib',
        ])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
    120_000,
  )

  test.skipIf(rootWhy !== '')(
    `on a root host, an interpreter the sandbox uid cannot reach fails uid-drop with a fix naming one that works${rootWhy}`,
    async () => {
      const { code, report } = await doctor([])
      const chosen = check(report, 'python').summary
      const drop = check(report, 'uid-drop')
      // python3 on PATH may be pyenv under /root (unreachable) or an interpreter every uid can run.
      if (drop.status === 'fail') {
        expect(chosen).toMatch(/^Python \S+ at \//)
        expect(drop.fix).toContain(`--python ${SYSTEM_PYTHON}`)
        expect(
          drop.details.some((line) =>
            line.startsWith(`${SYSTEM_PYTHON}: a sandboxed worker started as host uid`),
          ),
        ).toBe(true)
        expect(check(report, 'science').status).toBe('skip')
        expect(code).toBe(1)
      } else expect(drop.status).toBe('ok')
    },
    120_000,
  )

  test('fails the bwrap check with the install fix and exits 1 when --bwrap-path does not exist', async () => {
    const { code, report } = await doctor(['--bwrap-path', '/nonexistent', '--python', SYSTEM_PYTHON])
    const bwrap = check(report, 'bwrap')
    expect(bwrap).toMatchObject({ status: 'fail' })
    expect(bwrap.summary).toContain('/nonexistent does not exist')
    expect(bwrap.fix).toContain('apt-get install bubblewrap')
    expect(report.ok).toBe(false)
    expect(code).toBe(1)
    // Nothing could start a sandbox, so what rests on one is skipped, not failed twice.
    expect(check(report, 'science').status).toBe('skip')
  }, 120_000)

  test('shows host text escaped in the human report, one line per fact, and a summary line', async () => {
    const run = await runCli(['doctor', '--no-config', '--python', '/nonexistent/py\x1b[2Jthon'])
    expect(run.code).toBe(1)
    expect(run.stdout).not.toContain('\x1b')
    expect(run.stdout).toContain('/nonexistent/py\\x1b[2Jthon')
    expect(run.stdout).toMatch(
      /^fail {2}python {5}\/nonexistent\/py\\x1b\[2Jthon cannot be used: PYTHON_NOT_FOUND$/m,
    )
    expect(run.stdout).toMatch(/^ +fix: /m)
    expect(run.stdout).toMatch(/^\d+ failures?, \d+ warnings?, \d+ ok, \d+ skipped\n$/m)
  }, 120_000)

  test('refuses an unknown flag with a one-line usage error, exit 2', async () => {
    const run = await runCli(['doctor', '--frobnicate'])
    expect(run.code).toBe(2)
    expect(run.stderr).toBe("capsule doctor: unknown option '--frobnicate' (see capsule doctor --help)\n")
  })
})

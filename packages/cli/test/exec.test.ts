import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { probeSandbox } from '@capsule/core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { runCli } from './cliHarness.js'

const sandboxProbe = await probeSandbox()

let dir: string
const NONE = ['--sandbox', 'none', '--no-config']

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'capsule-cli-exec-'))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const lines = (text: string) => text.split('\n').filter(Boolean)
// Raw control characters but the newline, and the bidi and line-separator controls.
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/

describe.concurrent('capsule exec', () => {
  test('prints the output, then the value of the last expression, and exits 0', async () => {
    const run = await runCli(['exec', ...NONE, '-c', 'print("hi")\n6 * 7'])
    expect(run).toEqual({ code: 0, stdout: 'hi\n42\n', stderr: '' })
  })

  test('prints a Python exception on stderr and exits 1', async () => {
    const run = await runCli(['exec', ...NONE, '-c', 'print("before")\n1 / 0'])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('before\n')
    expect(run.stderr).toContain('ZeroDivisionError: division by zero')
    expect(run.stderr).toContain('Traceback (most recent call last):')
  })

  test('--json prints one result object and nothing else on stdout', async () => {
    const ok = await runCli([
      'exec',
      ...NONE,
      '--json',
      '-c',
      'print("a")\nimport sys\nprint("e", file=sys.stderr)\n3',
    ])
    expect(ok.code).toBe(0)
    const report = JSON.parse(ok.stdout)
    expect(report).toMatchObject({
      status: 'ok',
      exitCode: 0,
      value: { 'text/plain': '3' },
      stdout: 'a\n',
      stderr: 'e\n',
      error: null,
      failure: null,
      audit: [],
      level: 'standard',
      sandbox: 'none',
    })
    expect(typeof report.durationMs).toBe('number')
    expect(lines(ok.stdout)).toHaveLength(1)

    const failed = await runCli(['exec', ...NONE, '--json', '-c', 'raise ValueError("bad")'])
    expect(failed.code).toBe(1)
    expect(JSON.parse(failed.stdout)).toMatchObject({
      status: 'error',
      exitCode: 1,
      error: { ename: 'ValueError', evalue: 'bad' },
    })
  })

  test('escapes control characters in the traceback but passes the cell output through byte-exact', async () => {
    const code = [
      'import sys',
      'print("\\x1b[1mbold\\x1b[0m\\u202e", end="")',
      'print("\\x1b]0;err\\x07", end="", file=sys.stderr)',
      'raise ValueError("boom\\x1b]0;pwned\\x07\\x1b[2J\\u202e\\rX\\n[fake] line")',
    ].join('\n')
    const run = await runCli(['exec', ...NONE, '-c', code])
    expect(run.code).toBe(1)
    expect(run.stdout).toBe('\x1b[1mbold\x1b[0m\u202e\n')
    expect(run.stderr.startsWith('\x1b]0;err\x07Traceback (most recent call last):\n')).toBe(true)
    const traceback = run.stderr.slice('\x1b]0;err\x07'.length)
    expect(traceback).not.toMatch(RAW_CONTROL)
    // A traceback keeps its lines, as Python prints them; only the controls inside them are escaped.
    expect(traceback).toContain('ValueError: boom\\x1b]0;pwned\\x07\\x1b[2J\\u202e\\rX\n[fake] line\n')
  })

  test('--json lists the audit entries of the capability calls', async () => {
    await writeFile(path.join(dir, 'note.txt'), 'noted')
    const run = await runCli(['exec', ...NONE, '--json', '--fs-root', dir, '-c', 'read_file("note.txt")'])
    const report = JSON.parse(run.stdout)
    expect(report.value).toEqual({ 'text/plain': "'noted'" })
    expect(
      report.audit.map((entry: { type: string; capability: string }) => [entry.type, entry.capability]),
    ).toEqual([
      ['decision', 'fs.read_file'],
      ['outcome', 'fs.read_file'],
    ])
  })

  test('answers input() from piped stdin', async () => {
    const run = await runCli(['exec', ...NONE, '-c', 'word = input("word? ")\nprint(word * 2)'], {
      input: 'ab\n',
    })
    expect(run.code).toBe(0)
    expect(run.stdout).toBe('word? abab\n')
  })

  test('--timeout stops runaway code with exit code 1', async () => {
    const started = performance.now()
    const run = await runCli(['exec', ...NONE, '--timeout', '0.5', '-c', 'import time\ntime.sleep(30)'])
    expect(run.code).toBe(1)
    expect(run.stderr).toContain('time limit')
    expect(performance.now() - started).toBeLessThan(10_000)
  })

  test('refuses bad flags with one line on stderr and exit code 2', async () => {
    for (const args of [
      ['exec', '--level', 'admin', '-c', '1'],
      ['exec', '--frobnicate', '-c', '1'],
      ['exec', '--sandbox', 'none'],
      ['exec', '--fs-root', path.join(dir, 'missing'), '-c', '1'],
      ['exec', '--memory', 'lots', '-c', '1'],
      ['launch'],
    ]) {
      const run = await runCli(args)
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stdout).toBe('')
      expect(lines(run.stderr), args.join(' ')).toHaveLength(1)
    }
    const unknown = await runCli(['exec', '--frobnicate'])
    expect(unknown.stderr).toBe("capsule exec: unknown option '--frobnicate' (see capsule exec --help)\n")
  })

  test.skipIf(!sandboxProbe.available)(
    `runs in bubblewrap by default and says so with --verbose${sandboxProbe.available ? '' : ' (skipped: bubblewrap is unavailable here)'}`,
    async () => {
      // On a root host the sandbox uid must reach the interpreter: /usr/bin/python3, not one under /root.
      const run = await runCli(['exec', '--no-config', '--verbose', '-c', 'import os\nos.getpid()'], {
        env: { CAPSULE_PYTHON: '/usr/bin/python3' },
      })
      expect(run.code, run.stderr).toBe(0)
      expect(run.stderr).toMatch(/level standard, sandbox bwrap/)
      // Inside the sandbox's PID namespace the worker is a low pid.
      expect(Number(run.stdout.trim())).toBeLessThan(10)
    },
  )

  test('reports an unavailable sandbox in one line with exit code 2', async () => {
    await writeFile(path.join(dir, 'nobwrap.json'), JSON.stringify({ bwrapPath: '/nonexistent/bwrap' }))
    const run = await runCli(['exec', '--config', path.join(dir, 'nobwrap.json'), '-c', '1'])
    expect(run.code).toBe(2)
    expect(lines(run.stderr)).toHaveLength(1)
    expect(run.stderr).toMatch(/^capsule exec: SANDBOX_UNAVAILABLE: \/nonexistent\/bwrap does not exist\. /)
    const json = await runCli(['exec', '--json', '--config', path.join(dir, 'nobwrap.json'), '-c', '1'])
    expect(JSON.parse(json.stdout)).toMatchObject({
      status: 'failed',
      exitCode: 2,
      failure: { code: 'SANDBOX_UNAVAILABLE' },
    })
  })
})

describe.concurrent('capsule run', () => {
  test('runs a file with sys.argv set to the file and the arguments after it', async () => {
    const script = path.join(dir, 'args.py')
    await writeFile(script, 'import sys\nprint(sys.argv[1:])\n')
    const run = await runCli(['run', ...NONE, script, 'one', '--two'])
    expect(run).toMatchObject({ code: 0, stdout: "['one', '--two']\n" })
  })

  test('reads the code from stdin for FILE -', async () => {
    const run = await runCli(['run', ...NONE, '-'], { input: 'x = 20\nx + 1\n' })
    expect(run).toMatchObject({ code: 0, stdout: '21\n' })
  })

  test('exits 2 when the file cannot be read', async () => {
    const run = await runCli(['run', ...NONE, path.join(dir, 'absent.py')])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/cannot read .*absent\.py \(ENOENT\)/)
  })
})

describe('capsule', () => {
  test('prints its version and per-command help with examples', async () => {
    const version = await runCli(['--version'])
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\n$/)
    for (const command of ['exec', 'run', 'repl', 'audit']) {
      const help = await runCli([command, '--help'])
      expect(help.code).toBe(0)
      expect(help.stdout).toContain(`capsule ${command}`)
      expect(help.stdout).toContain('Examples:')
    }
  })
})

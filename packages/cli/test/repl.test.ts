import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest'
import { PtyCli, runCli } from './cliHarness.js'

let dir: string
let repl: PtyCli | undefined

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'capsule-cli-repl-'))
})

afterEach(() => {
  repl?.kill()
  repl = undefined
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

// Prompts in these tests are built by concatenation, so the typed line (echoed) never matches what Python prints.
test('runs multi-line cells, top-level await and input()/getpass() answered at the terminal', async () => {
  const history = path.join(dir, 'history')
  repl = new PtyCli(['repl', '--sandbox', 'none', '--no-config'], {
    cwd: dir,
    env: { CAPSULE_REPL_HISTORY: history },
  })
  await repl.expect('sandbox none')
  await repl.expect('>>> ')
  repl.send('def double(x):\r')
  await repl.expect('... ')
  repl.send('    return x * 2\r')
  await repl.expect('... ')
  repl.send('\r')
  await repl.expect('>>> ')
  repl.send('double(21)\r')
  await repl.expect('\n42\n')

  repl.send('import asyncio\r')
  await repl.expect('>>> ')
  repl.send('await asyncio.sleep(0.01) or "sl" + "ept"\r')
  await repl.expect("'slept'")

  repl.send('name = input("na" + "me? ")\r')
  await repl.expect('name? ')
  repl.send('Ada\r')
  await repl.expect('>>> ')
  repl.send('name.upper()\r')
  await repl.expect("'ADA'")

  repl.send('from getpass import getpass\r')
  await repl.expect('>>> ')
  repl.send('secret = getpass("pass" + "word: ")\r')
  await repl.expect('password: ')
  repl.send('hunter2\r')
  await repl.expect('>>> ')
  repl.send('len(secret)\r')
  await repl.expect('\n7\n')
  expect(repl.output).not.toContain('hunter2')

  repl.send('\x04')
  expect(await repl.exited).toBe(0)
  const saved = await readFile(history, 'utf8')
  expect(saved).toContain('double(21)\n')
  expect(saved).not.toContain('hunter2')
  expect(saved).not.toContain('Ada')
})

test('Ctrl-C interrupts a running cell and keeps the REPL and its namespace; at the prompt it clears the line', async () => {
  await writeFile(path.join(dir, 'seen.txt'), 'seen')
  repl = new PtyCli(['repl', '--sandbox', 'none', '--no-config', '--fs-root', dir], { cwd: dir })
  await repl.expect('>>> ')
  repl.send('x = 5\r')
  await repl.expect('>>> ')
  repl.send('print("spin" + "ning", flush=True); exec("while True: pass")\r')
  await repl.expect('spinning')
  repl.send('\x03')
  await repl.expect('KeyboardInterrupt')
  await repl.expect('>>> ')
  repl.send('x * 2\r')
  await repl.expect('\n10\n')

  repl.send('undefined_name')
  await repl.expect('undefined_name')
  repl.send('\x03')
  await repl.expect('KeyboardInterrupt')
  await repl.expect('>>> ')
  repl.send('1 + 2\r')
  await repl.expect('\n3\n')
  expect(repl.output).not.toContain('NameError')

  repl.send('%capabilities\r')
  await repl.expect('granted at level standard:')
  await repl.expect(/read_file\(path.*fs\.read_file/)
  repl.send('read_file("seen.txt")\r')
  await repl.expect("'seen'")
  repl.send('%audit\r')
  await repl.expect(/allowed {2}fs\.read_file \{"path":"seen\.txt"\}/)
  repl.send('%nope\r')
  await repl.expect('unknown command %nope')

  repl.send('\x04')
  expect(await repl.exited).toBe(0)
})

// Raw control characters but the newline, and the bidi and line-separator controls.
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/

test('escapes control characters in tracebacks, %audit lines and unknown commands', async () => {
  const input = [
    'raise ValueError("boom\\x1b]0;pwned\\x07\\u202e")',
    'try:',
    '    read_file("a\\u202eb\\x1b[2J.txt")',
    'except Exception:',
    '    pass',
    '',
    '%audit',
    '%nope\x1b[2J',
    '',
  ].join('\n')
  const run = await runCli(['repl', '--sandbox', 'none', '--no-config', '--fs-root', dir], { input })
  expect(run.code).toBe(0)
  expect(run.stdout).not.toMatch(RAW_CONTROL)
  expect(run.stderr).not.toMatch(RAW_CONTROL)
  expect(run.stderr).toContain('ValueError: boom\\x1b]0;pwned\\x07\\u202e\n')
  expect(run.stdout).toMatch(/fs\.read_file \{"path":"a\\u202eb\\u001b\[2J\.txt"\} {2}→ rejected, NOT_FOUND/)
  expect(run.stdout).toContain('unknown command %nope\\x1b[2J;')
})

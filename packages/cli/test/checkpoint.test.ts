import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { runCli } from './cliHarness.js'

const PYTHON = ['--sandbox', 'none', '--no-config', '--python', '/usr/bin/python3']
let dir: string
let env: Record<string, string>

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'capsule-cli-checkpoint-'))
  // A config home of the test's own, so the key file is created here and nowhere else.
  env = { XDG_CONFIG_HOME: path.join(dir, 'config'), CAPSULE_CHECKPOINT_KEY: '' }
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const SCRIPT = [
  'import math',
  'def area(r):',
  '    return round(math.pi * r * r, 2)',
  'rows = [{"id": i, "sq": i * i} for i in range(4)]',
  'scale = (lambda k: (lambda v: v * k))(10)',
  'handle = open("/dev/null")',
  'print("ran")',
].join('\n')

test('run --checkpoint-to saves the namespace; repl --restore brings it back and says what was lost', async () => {
  const script = path.join(dir, 'prepare.py')
  await writeFile(script, SCRIPT)
  const file = path.join(dir, 'state.ckpt')
  const run = await runCli(['run', ...PYTHON, '--checkpoint-to', file, script], { cwd: dir, env })
  expect(run.stderr).toContain('checkpoint saved to')
  expect(run.code).toBe(0)
  expect(run.stdout).toBe('ran\n')
  expect(run.stderr).toMatch(/lost +handle: /)
  expect((await stat(file)).mode & 0o777).toBe(0o600)
  const keyFile = path.join(dir, 'config', 'capsule', 'checkpoint-key')
  expect((await stat(keyFile)).mode & 0o777).toBe(0o600)
  // Written through a temp file and a rename: nothing else is left beside it.
  expect((await readdir(dir)).sort()).toEqual(['config', 'prepare.py', 'state.ckpt'])

  const repl = await runCli(['repl', ...PYTHON, '--restore', file], {
    cwd: dir,
    env,
    input: 'area(2)\n[r["sq"] for r in rows]\nscale(4)\nhandle\n',
  })
  expect(repl.code).toBe(0)
  expect(repl.stdout).toBe('12.57\n[0, 1, 4, 9]\n40\n')
  expect(repl.stderr).toMatch(/restored +rows, scale/)
  expect(repl.stderr).toMatch(/redefined +area, math/)
  expect(repl.stderr).toMatch(/lost +handle: /)
  expect(repl.stderr).toContain("NameError: name 'handle' is not defined")
})

test('%checkpoint writes a file that another REPL restores', async () => {
  const file = path.join(dir, 'repl.ckpt')
  const first = await runCli(['repl', ...PYTHON], {
    cwd: dir,
    env,
    input: `total = sum(range(101))\nwords = {"a": 1}\n%checkpoint ${file}\n`,
  })
  expect(first.code).toBe(0)
  expect(first.stdout).toContain(`checkpoint saved to ${file}`)
  expect(first.stdout).toMatch(/data +total, words/)
  const second = await runCli(['repl', ...PYTHON, '--restore', file], {
    cwd: dir,
    env,
    input: '(total, words)\n',
  })
  expect(second.stdout).toBe("(5050, {'a': 1})\n")
  expect(second.code).toBe(0)
})

test('%checkpoint without a FILE writes ./capsule-<time>.ckpt', async () => {
  const cwd = await mkdtemp(path.join(dir, 'default-'))
  const run = await runCli(['repl', ...PYTHON], { cwd, env, input: 'x = 1\n%checkpoint\n' })
  expect(run.code).toBe(0)
  const written = await readdir(cwd)
  expect(written).toHaveLength(1)
  expect(written[0]).toMatch(/^capsule-\d{4}-\d\d-\d\dT[\d-]+Z\.ckpt$/)
})

test('a tampered checkpoint, or one signed with another key, is refused with exit code 2 and nothing runs', async () => {
  const file = path.join(dir, 'signed.ckpt')
  const made = await runCli(['exec', ...PYTHON, '--checkpoint-to', file, '-c', 'secret = 42'], {
    cwd: dir,
    env,
  })
  expect(made.code).toBe(0)
  const bytes = await readFile(file)
  bytes[bytes.length >> 1]! ^= 1
  const tampered = path.join(dir, 'tampered.ckpt')
  await writeFile(tampered, bytes)
  const refused = await runCli(['repl', ...PYTHON, '--restore', tampered], {
    cwd: dir,
    env,
    input: 'print("should not run")\n',
  })
  expect(refused.code).toBe(2)
  expect(refused.stdout).toBe('')
  expect(refused.stderr).toMatch(
    /CHECKPOINT_INVALID: the checkpoint signature does not match .*altered, or signed with another key \(tried the key in .*checkpoint-key\)/,
  )

  const otherKey = await runCli(['repl', ...PYTHON, '--restore', file], {
    cwd: dir,
    env: { ...env, CAPSULE_CHECKPOINT_KEY: 'k'.repeat(40) },
    input: 'secret\n',
  })
  expect(otherKey.code).toBe(2)
  expect(otherKey.stderr).toContain('tried the key in CAPSULE_CHECKPOINT_KEY')

  const notOne = path.join(dir, 'not.ckpt')
  await writeFile(notOne, 'hello')
  const foreign = await runCli(['repl', ...PYTHON, '--restore', notOne], { cwd: dir, env })
  expect(foreign.code).toBe(2)
  expect(foreign.stderr).toContain('CHECKPOINT_INVALID: this is not a Capsule checkpoint')

  const missing = await runCli(['repl', ...PYTHON, '--restore', path.join(dir, 'nope.ckpt')], {
    cwd: dir,
    env,
  })
  expect(missing.code).toBe(2)
  expect(missing.stderr).toContain('nope.ckpt: no such file; to restore a checkpoint id, name its journal')
})

test('a short CAPSULE_CHECKPOINT_KEY is refused before anything starts', async () => {
  const run = await runCli(['exec', ...PYTHON, '--checkpoint-to', path.join(dir, 'x.ckpt'), '-c', '1'], {
    cwd: dir,
    env: { ...env, CAPSULE_CHECKPOINT_KEY: 'short' },
  })
  expect(run.code).toBe(2)
  expect(run.stderr).toContain('CAPSULE_CHECKPOINT_KEY must be at least 32 bytes')
})

import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { runCli } from './cliHarness.js'

const PYTHON = ['--sandbox', 'none', '--no-config', '--python', '/usr/bin/python3']
let dir: string
let env: Record<string, string>

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'capsule-cli-journal-'))
  env = { XDG_CONFIG_HOME: path.join(dir, 'config'), CAPSULE_CHECKPOINT_KEY: '' }
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

test('%checkpoint stores into the --journal journal and prints the id; another repl restores it by id', async () => {
  const first = await runCli(['repl', ...PYTHON, '--journal', 'sqlite:state.db'], {
    cwd: dir,
    env,
    input: 'total = sum(range(101))\ndef twice(v):\n    return 2 * v\n\n%checkpoint\n',
  })
  expect(first.stderr).toBe('')
  expect(first.code).toBe(0)
  const journal = `sqlite:${path.join(dir, 'state.db')}`
  const id = new RegExp(`checkpoint saved to ${journal} as (cp_[0-9a-f]+)`).exec(first.stdout)?.[1]
  expect(id, first.stdout).toBeDefined()
  expect(first.stdout).toMatch(/data +total/)
  expect(first.stdout).toContain(`restore it with: capsule repl --journal ${journal} --restore ${id}`)
  // Stored in the journal, not written as a file beside it.
  expect((await readdir(dir)).filter((name) => name.endsWith('.ckpt'))).toEqual([])

  const second = await runCli(['repl', ...PYTHON, '--journal', journal, '--restore', id!], {
    cwd: dir,
    env,
    input: 'total, twice(21)\n',
  })
  expect(second.stderr).toContain(`restored from ${id} (${journal})`)
  expect(second.stderr).toMatch(/restored +total/)
  expect(second.stdout).toBe('(5050, 42)\n')
  expect(second.code).toBe(0)

  // With a FILE, %checkpoint writes the file even when a journal is open.
  const file = path.join(dir, 'explicit.ckpt')
  const third = await runCli(['repl', ...PYTHON, '--journal', journal], {
    cwd: dir,
    env,
    input: `x = 1\n%checkpoint ${file}\n`,
  })
  expect(third.stdout).toContain(`checkpoint saved to ${file}`)
  expect(await readdir(dir)).toContain('explicit.ckpt')
})

test('an id the journal does not hold, an id without a journal and a bad --journal are usage errors', async () => {
  const unknown = await runCli(
    ['repl', ...PYTHON, '--journal', 'sqlite:state.db', '--restore', 'cp_nothere'],
    {
      cwd: dir,
      env,
      input: 'print("should not run")\n',
    },
  )
  expect(unknown.code).toBe(2)
  expect(unknown.stdout).toBe('')
  expect(unknown.stderr).toContain(
    `--restore cp_nothere: no such file, and sqlite:${path.join(dir, 'state.db')} holds no checkpoint with that id`,
  )

  const noJournal = await runCli(['repl', ...PYTHON, '--restore', 'cp_abc'], { cwd: dir, env })
  expect(noJournal.code).toBe(2)
  expect(noJournal.stderr).toContain(
    '--restore cp_abc: no such file; to restore a checkpoint id, name its journal',
  )

  const bad = await runCli(['repl', ...PYTHON, '--journal', 'mysql://x'], { cwd: dir, env })
  expect(bad.code).toBe(2)
  expect(bad.stderr).toContain('--journal takes sqlite:PATH or a postgres:// URL (got "mysql://x")')

  const notSqlite = path.join(dir, 'explicit.ckpt')
  const foreign = await runCli(['repl', ...PYTHON, '--journal', `sqlite:${notSqlite}`], { cwd: dir, env })
  expect(foreign.code).toBe(2)
  expect(foreign.stderr).toContain(`--journal sqlite:${notSqlite}: `)
})

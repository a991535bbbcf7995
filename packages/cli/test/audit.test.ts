import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { runCli } from './cliHarness.js'

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'capsule-cli-audit-'))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

test('--audit-log writes JSON lines that capsule audit prints one call per line', async () => {
  await writeFile(path.join(dir, 'a.txt'), 'alpha')
  const log = path.join(dir, 'audit.jsonl')
  const code = 'read_file("a.txt")\ntry:\n    read_file("missing.txt")\nexcept Exception:\n    pass'
  const run = await runCli([
    'exec',
    '--no-config',
    '--sandbox',
    'none',
    '--fs-root',
    dir,
    '--audit-log',
    log,
    '-c',
    code,
  ])
  expect(run.code).toBe(0)

  const audit = await runCli(['audit', log])
  expect(audit.code).toBe(0)
  const [first, second, summary] = audit.stdout.trimEnd().split('\n')
  expect(first).toMatch(
    /^\d\d:\d\d:\d\d\.\d{3} {2}ses_\w+:e1 {2}allowed {2}fs\.read_file \{"path":"a\.txt"\} {2}→ resolved, \d+ ms/,
  )
  expect(first).toContain('[level:standard]')
  expect(second).toMatch(/fs\.read_file \{"path":"missing\.txt"\} {2}→ rejected, NOT_FOUND/)
  expect(summary).toMatch(/^2 calls: 2 allowed, 0 denied, 1 not resolved since \d{4}-\d\d-\d\d$/)

  const filtered = await runCli(['audit', log, '--capability', 'http.*'])
  expect(filtered.stdout).toMatch(/^0 calls/)
})

test('capsule audit reports lines that are not audit entries and exits 1', async () => {
  const log = path.join(dir, 'broken.jsonl')
  await writeFile(log, '')
  await appendFile(log, 'not json\n{"type":"decision"}\n')
  const audit = await runCli(['audit', log])
  expect(audit.code).toBe(1)
  expect(audit.stderr).toBe(
    `capsule audit: ${log}:1: not an audit entry\ncapsule audit: ${log}:2: not an audit entry\n`,
  )
  const missing = await runCli(['audit', path.join(dir, 'none.jsonl')])
  expect(missing.code).toBe(2)
})

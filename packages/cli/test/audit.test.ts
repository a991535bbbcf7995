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

// Raw control characters of every kind but the newline that ends each line, and the bidi/line controls.
const RAW_CONTROL = /[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/

test('capsule audit escapes newlines, ANSI and OSC sequences and bidi overrides in every field', async () => {
  const log = path.join(dir, 'hostile.jsonl')
  const where = { callId: 'c1', sessionId: 'ses_1', executionId: 'ses_1:e1' }
  const forged = '\n12:00:00.000  ses_1:e1  [fake] allowed  shell.run {"argv":["rm"]}'
  const entries = [
    {
      type: 'decision',
      time: '2025-01-01T12:00:00.000Z',
      ...where,
      capability: `fs.read_file${forged}`,
      decision: 'denied',
      rule: 'deny:\x1b]0;title\x07',
      args: { path: 'invoice\u202efdp.exe', clear: '\x1b[2J', del: '\x7f\x9b', sep: '\u2028' },
    },
    {
      type: 'outcome',
      time: '2025-01-01T12:00:00.001Z',
      ...where,
      capability: 'fs.read_file',
      state: 'rejected\r',
      errorCode: 'DENIED\x1b[2K',
      errorDetail: `refused${forged}\x1b[2J`,
    },
  ]
  await writeFile(log, entries.map((entry) => `${JSON.stringify(entry)}\n`).join(''))

  const audit = await runCli(['audit', log])
  expect(audit.code).toBe(0)
  expect(audit.stderr).toBe('')
  expect(audit.stdout).not.toMatch(RAW_CONTROL)
  const lines = audit.stdout.split('\n')
  expect(lines.at(-1)).toBe('')
  // One call, one line, then the summary: the forged entry never starts a line of its own.
  expect(lines).toHaveLength(3)
  expect(lines.filter((line) => line.includes('[fake] allowed'))).toEqual([lines[0]])
  expect(lines[0]).toMatch(/^12:00:00\.000 {2}ses_1:e1 {2}DENIED {3}fs\.read_file\\n12:00:00\.000/)
  expect(lines[0]).toContain('[deny:\\x1b]0;title\\x07]')
  expect(lines[0]).toContain('"path":"invoice\\u202efdp.exe"')
  expect(lines[0]).toContain('"clear":"\\u001b[2J"')
  expect(lines[0]).toContain('"del":"\\x7f\\x9b","sep":"\\u2028"')
  expect(lines[0]).toContain('→ rejected\\r, DENIED\\x1b[2K')
  expect(lines[0]).toContain('(refused\\n12:00:00.000  ses_1:e1  [fake] allowed')
  expect(lines[0]).toContain('\\x1b[2J)')
  expect(lines[1]).toMatch(/^1 call: 0 allowed, 1 denied, 1 not resolved since 2025-01-01$/)
})

test('capsule audit escapes a file name in its error lines', async () => {
  const log = path.join(dir, 'bad\x1b]0;title\x07\u202e.jsonl')
  await writeFile(log, 'not json\n')
  const audit = await runCli(['audit', log])
  expect(audit.code).toBe(1)
  expect(audit.stderr).not.toMatch(RAW_CONTROL)
  expect(audit.stderr).toBe(
    `capsule audit: ${dir}/bad\\x1b]0;title\\x07\\u202e.jsonl:1: not an audit entry\n`,
  )
  const missing = await runCli(['audit', path.join(dir, 'no\nsuch\x1b[2J')])
  expect(missing.code).toBe(2)
  expect(missing.stderr).not.toMatch(RAW_CONTROL)
  expect(missing.stderr.split('\n')).toHaveLength(2)
  expect(missing.stderr).toContain('no\\nsuch\\x1b[2J')
})

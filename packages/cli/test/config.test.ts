import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { runCli } from './cliHarness.js'

let dir: string

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'capsule-cli-config-'))
  // A project directory others may read, as most are: on a root host, sandboxed shell commands run
  // as an unprivileged uid that must reach it.
  await chmod(dir, 0o755)
})

afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function config(content: unknown, name = 'capsule.config.json'): Promise<string> {
  const file = path.join(dir, name)
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content))
  return file
}

async function report(args: string[], cwd = dir) {
  const run = await runCli(['exec', '--json', ...args], { cwd })
  expect(run.stderr).toBe('')
  return JSON.parse(run.stdout)
}

describe('config files and flags', () => {
  test('reads capsule.config.json from the current directory, and flags override it', async () => {
    await config({ level: 'restricted', sandbox: 'none', limits: { executeTimeoutMs: 60_000 } })
    expect(await report(['-c', '1'])).toMatchObject({ level: 'restricted', sandbox: 'none' })
    expect(await report(['--level', 'sandbox', '-c', '1'])).toMatchObject({ level: 'sandbox' })
    // --no-config ignores it: the default level applies.
    expect(await report(['--no-config', '--sandbox', 'none', '-c', '1'])).toMatchObject({ level: 'standard' })
  })

  test('builds providers from the config with paths relative to the config file', async () => {
    await mkdir(path.join(dir, 'project', 'data'), { recursive: true })
    await writeFile(path.join(dir, 'project', 'data', 'hello.txt'), 'hello from data')
    const file = await config(
      { sandbox: 'none', level: 'restricted', providers: { fs: { roots: [{ path: 'data' }] } } },
      'project/capsule.config.json',
    )
    const result = await report(['--config', file, '-c', 'read_file("hello.txt")'], tmpdir())
    expect(result.value).toEqual({ 'text/plain': "'hello from data'" })
  })

  test('adds --deny to the config deny list, and deny wins over the config allow', async () => {
    await mkdir(path.join(dir, 'work'))
    await config({
      sandbox: 'none',
      level: 'restricted',
      allow: ['fs.write_file'],
      providers: { fs: { roots: [{ path: 'work', write: true }] } },
    })
    const code = '"write_file" in globals(), "read_file" in globals()'
    expect((await report(['-c', code])).value).toEqual({ 'text/plain': '(True, True)' })
    expect((await report(['--deny', 'fs.write_file', '-c', code])).value).toEqual({
      'text/plain': '(False, True)',
    })
  })

  test('loads an .mjs config exporting the options by default', async () => {
    await config("export default { level: 'sandbox', sandbox: 'none' }\n", 'capsule.config.mjs')
    expect(await report(['-c', '1'])).toMatchObject({ level: 'sandbox' })
  })

  test('loads a .ts config through tsx', async () => {
    await config(
      "const level: 'sandbox' = 'sandbox'\nexport default { level, sandbox: 'none' as const }\n",
      'capsule.config.ts',
    )
    expect(await report(['-c', '1'])).toMatchObject({ level: 'sandbox', sandbox: 'none' })
  })

  test('points at the bad key in one line with exit code 2', async () => {
    await config({ sandbox: 'none', limits: { callTimeoutMs: 'soon' } })
    const run = await runCli(['exec', '-c', '1'], { cwd: dir })
    expect(run.code).toBe(2)
    expect(run.stderr).toBe(
      'capsule exec: capsule.config.json: limits.callTimeoutMs: expected number, got string\n',
    )
  })

  test('refuses unknown keys, unknown providers, bad provider options and broken JSON with exit code 2', async () => {
    const cases: Array<[unknown, RegExp]> = [
      [{ levle: 'trusted' }, /capsule\.config\.json: levle: unknown key \(did you mean "level"\?\)/],
      [
        { providers: { kv: {} } },
        /providers\.kv: no built-in provider is named "kv" \(built in: fs, http, shell\)/,
      ],
      [
        { providers: { fs: { roots: [{ path: 'absent' }] } } },
        /providers\.fs: fsProvider: roots\[0\]\.path does not exist/,
      ],
      ['{ "level": ', /capsule\.config\.json: invalid JSON: /],
    ]
    for (const [content, message] of cases) {
      await config(content)
      const run = await runCli(['exec', '-c', '1'], { cwd: dir })
      expect(run.code, String(message)).toBe(2)
      expect(run.stderr).toMatch(message)
      expect(run.stderr.trim().split('\n')).toHaveLength(1)
    }
  })

  test('--allow-host adds an http provider and --allow-command notes a level that does not grant it', async () => {
    const http = await report([
      '--no-config',
      '--sandbox',
      'none',
      '--allow-host',
      'example.com',
      '-c',
      'callable(fetch)',
    ])
    expect(http.value).toEqual({ 'text/plain': 'True' })
    const shell = await runCli(
      [
        'exec',
        '--no-config',
        '--sandbox',
        'none',
        '--allow-command',
        'ls',
        '-c',
        '"run_command" in globals()',
      ],
      {
        cwd: dir,
      },
    )
    expect(shell.stdout).toBe('False\n')
    expect(shell.stderr).toContain(
      '--allow-command configures shell.* but level standard grants none of it; use --level trusted',
    )
    const trusted = await runCli(
      [
        'exec',
        '--no-config',
        '--sandbox',
        'none',
        '--level',
        'trusted',
        '--allow-command',
        'ls',
        '-c',
        'run_command(["ls"]).stdout',
      ],
      { cwd: dir },
    )
    expect(trusted.code).toBe(0)
  })
})

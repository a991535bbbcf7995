import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Capsule, type Session } from '@capsule/core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type ShellSandbox, shellProvider, shellSandboxInForce } from '../src/index.js'
import { sandboxOwned } from './tempDir.js'
import { livePidsWith } from './testContext.js'

// The Python surface of shell.run end to end: a real Capsule at level trusted, the real Python worker
// (unsandboxed: the provider's own sandbox is the subject), real processes, once per provider sandbox.
// The worker wraps each result in a subprocess.CompletedProcess-like object.

const MAX_OUTPUT_BYTES = 64 * 1024
const modes: ShellSandbox[] = existsSync('/usr/bin/bwrap') ? ['none', 'bwrap'] : ['none']

describe.each(modes)('run_command with the provider sandbox %s', (sandbox) => {
  let root = ''
  let capsule: Capsule
  let session: Session

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'capsule-shell-python-'))
    await fs.writeFile(path.join(root, 'hello.txt'), 'hello')
    // As root, sandboxed commands act as the owner of their writable root.
    if (sandbox === 'bwrap') sandboxOwned(root)
    const provider = shellProvider({
      commands: { printf: {}, ls: {}, cat: {}, yes: {} },
      roots: [{ path: root, write: true }],
      sandbox,
      maxOutputBytes: MAX_OUTPUT_BYTES,
    })
    expect(shellSandboxInForce(provider)).toBe(sandbox)
    capsule = new Capsule({ sandbox: 'none', level: 'trusted', providers: [provider] })
    session = await capsule.session()
    await session.run('import capsule, subprocess, json')
  })
  afterAll(async () => {
    await capsule?.close()
    if (root) await fs.rm(root, { recursive: true, force: true })
  })

  /** Runs `code`, then prints `expression` as JSON, and returns it parsed. */
  async function answer(code: string, expression: string): Promise<unknown> {
    const result = await session.run(`${code}\nprint(json.dumps(${expression}))`)
    if (result.status !== 'ok') throw new Error(`the cell failed: ${result.error?.traceback.join('')}`)
    return JSON.parse(result.stdout)
  }

  test('returns a CompletedProcess whose stdout holds shell metacharacters literally', async () => {
    const seen = await answer(
      'p = run_command(["printf", "%s|", "a;b", "$(id)", "*"])',
      '[p.args, p.returncode, p.stdout, p.stderr, p.truncated, p.check_returncode(), type(p).__name__]',
    )
    expect(seen).toEqual([
      ['printf', '%s|', 'a;b', '$(id)', '*'],
      0,
      'a;b|$(id)|*|',
      '',
      false,
      null,
      'CompletedProcess',
    ])
    // Nothing ran a shell: no file named after a glob or a substitution appeared.
    expect((await fs.readdir(root)).sort()).toEqual(['hello.txt'])
  })

  test('a failing command returns its code; check_returncode() and check=True raise CalledProcessError', async () => {
    const seen = await answer(
      [
        'p = run_command(["ls", "missing.txt"])',
        'try:',
        '    p.check_returncode()',
        '    first = None',
        'except subprocess.CalledProcessError as e:',
        '    first = [e.returncode, e.cmd]',
        'try:',
        '    run_command(["ls", "missing.txt"], check=True)',
        '    second = None',
        'except subprocess.CalledProcessError as e:',
        '    second = [e.returncode, e.cmd, "missing.txt" in e.stderr]',
      ].join('\n'),
      '[p.returncode, first, second]',
    )
    expect(seen).toEqual([2, [2, ['ls', 'missing.txt']], [2, ['ls', 'missing.txt'], true]])
  })

  test('runs in the root by default and reads stdin given by Python', async () => {
    const seen = await answer(
      'a = run_command(["ls"])\nb = run_command(["cat", "-", "hello.txt"], stdin="from python ")',
      '[a.stdout, b.stdout]',
    )
    expect(seen).toEqual(['hello.txt\n', 'from python hello'])
  })

  test('a flood of output is cut at the cap and reported as truncated, not as an error', async () => {
    const started = performance.now()
    const seen = await answer('p = run_command(["yes"])', '[p.truncated, len(p.stdout), p.returncode]')
    expect(seen).toEqual([true, MAX_OUTPUT_BYTES, -9])
    expect(performance.now() - started).toBeLessThan(5_000)
  })

  test('a command off the allowlist raises capsule.CapabilityDenied, and so does a path outside the root', async () => {
    const seen = await answer(
      [
        'out = []',
        `for argv in (["sh", "-c", "id"], ["ls", ${JSON.stringify(os.tmpdir())}]):`,
        '    try:',
        '        run_command(argv)',
        '        out.append(None)',
        '    except capsule.CapabilityDenied as e:',
        '        out.append([e.code, isinstance(e, PermissionError)])',
      ].join('\n'),
      'out',
    )
    expect(seen).toEqual([
      ['DENIED', true],
      ['DENIED', true],
    ])
  })

  test('interrupting the execution kills the running command at once', async () => {
    // cat blocks reading a FIFO: opening the write end resolves when cat has opened the read end, so the
    // test knows the command is running without polling.
    const fifo = path.join(root, `pipe-${sandbox}`)
    execFileSync('mkfifo', [fifo])
    const running = session.run(`run_command(["cat", ${JSON.stringify(fifo)}])`)
    const writer = await fs.open(fifo, 'w')
    try {
      expect(livePidsWith(fifo).length).toBeGreaterThan(0)
      const interruptedAt = performance.now()
      await session.interrupt()
      const result = await running
      expect(performance.now() - interruptedAt).toBeLessThan(1_000)
      expect(result.status).toBe('interrupted')
      expect(result.error?.ename).toBe('KeyboardInterrupt')
      expect(livePidsWith(fifo)).toEqual([])
    } finally {
      await writer.close()
      await fs.rm(fifo, { force: true })
    }
    // The session carries on.
    expect((await session.run('run_command(["printf", "ok"]).stdout')).value?.['text/plain']).toBe("'ok'")
  })
})

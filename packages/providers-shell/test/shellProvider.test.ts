import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { ProviderDefinition } from '@capsule/provider-sdk'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { type ShellProviderOptions, shellProvider } from '../src/index.js'
import { sandboxOwned, tempDir } from './tempDir.js'
import { bwrapAvailable, callRun, livePidsWith, NO_BWRAP, testContext, uniqueSleep } from './testContext.js'

describe.each(['none', 'bwrap'] as const)('shell.run with sandbox %s', (sandbox) => {
  if (sandbox === 'bwrap' && !bwrapAvailable) {
    test.skip(NO_BWRAP, () => {})
    return
  }
  let root: string
  let outside: string
  const providers: ProviderDefinition[] = []

  beforeEach(() => {
    root = tempDir('shell-root-')
    outside = tempDir('shell-outside-')
  })
  afterEach(async () => {
    for (const p of providers.splice(0)) await p.dispose?.()
  })

  const make = (options: Partial<ShellProviderOptions> = {}) => {
    // As root, sandboxed commands act as the owner of their writable root.
    if (sandbox === 'bwrap') sandboxOwned(root)
    const provider = shellProvider({
      commands: { printf: {}, printenv: {}, cat: {}, ls: {}, sleep: {}, yes: {}, pwd: {}, git: {} },
      roots: [{ path: root, write: true }],
      sandbox,
      ...options,
    })
    providers.push(provider)
    return provider
  }

  test('runs the program from the trusted path, not a planted one in the root', async () => {
    const planted = path.join(root, 'git')
    writeFileSync(planted, `#!/bin/sh\ntouch ${root}/planted-ran\n`)
    chmodSync(planted, 0o755)
    const provider = make()
    const result = await callRun(provider, { argv: ['git', '--version'] })
    expect(result.stdout).toMatch(/^git version/)
    await expect(callRun(provider, { argv: ['./git', '--version'] })).rejects.toMatchObject({
      code: 'DENIED',
    })
    await expect(callRun(provider, { argv: [planted, '--version'] })).rejects.toMatchObject({
      code: 'DENIED',
    })
    expect(existsSync(path.join(root, 'planted-ran'))).toBe(false)
  })

  test('accepts the resolved path of an allowlisted program as argv[0]', async () => {
    const result = await callRun(make(), { argv: ['/usr/bin/printf', 'ok'] })
    expect(result).toEqual({
      args: ['/usr/bin/printf', 'ok'],
      returncode: 0,
      stdout: 'ok',
      stderr: '',
      truncated: false,
    })
  })

  test('passes shell metacharacters to the program literally', async () => {
    const tricky = [
      '; touch pwned-semicolon',
      '$(touch pwned-subst)',
      '`touch pwned-tick`',
      '| touch pwned-pipe',
      '&& x',
      '>out',
      '*',
    ]
    const result = await callRun(make(), { argv: ['printf', '%s\\n', ...tricky] })
    expect(result.stdout).toBe(tricky.map((t) => `${t}\n`).join(''))
    expect(execFileSync('ls', ['-A', root], { encoding: 'utf8' })).toBe('')
  })

  test('gives the command only the fixed environment and allowed variables', async () => {
    process.env.LD_PRELOAD = '/nonexistent/capsule-test.so'
    process.env.GIT_DIR = '/nonexistent'
    process.env.CAPSULE_TEST_SECRET = 'secret-value'
    process.env.CAPSULE_TEST_ALLOWED = 'allowed-value'
    try {
      const provider = make({ envAllow: ['CAPSULE_TEST_ALLOWED', 'CAPSULE_TEST_OTHER'] })
      const result = await callRun(provider, {
        argv: ['printenv'],
        env: { CAPSULE_TEST_OTHER: 'from-python' },
      })
      const names = result.stdout
        .trim()
        .split('\n')
        .map((line) => line.split('=')[0])
      expect(names.sort()).toEqual(
        [
          'CAPSULE_SHELL_RUN',
          'CAPSULE_TEST_ALLOWED',
          'CAPSULE_TEST_OTHER',
          'HOME',
          'LANG',
          'PATH',
          ...(sandbox === 'bwrap' ? ['PWD'] : []),
        ].sort(),
      )
      expect(result.stdout).toContain('CAPSULE_TEST_ALLOWED=allowed-value\n')
      expect(result.stdout).toContain('CAPSULE_TEST_OTHER=from-python\n')
      expect(result.stdout).toContain('PATH=/usr/local/bin:/usr/bin:/bin\n')
      await expect(
        callRun(provider, { argv: ['printenv'], env: { LD_PRELOAD: '/x.so' } }),
      ).rejects.toMatchObject({ code: 'DENIED' })
    } finally {
      delete process.env.LD_PRELOAD
      delete process.env.GIT_DIR
      delete process.env.CAPSULE_TEST_SECRET
      delete process.env.CAPSULE_TEST_ALLOWED
    }
  })

  test('keeps cwd inside the roots, through .. and symlinks', async () => {
    mkdirSync(path.join(root, 'sub'))
    symlinkSync(outside, path.join(root, 'escape'))
    const provider = make()
    expect((await callRun(provider, { argv: ['pwd'] })).stdout).toBe(`${root}\n`)
    expect((await callRun(provider, { argv: ['pwd'], cwd: 'sub' })).stdout).toBe(`${root}/sub\n`)
    for (const cwd of ['..', '/etc', `${root}/../`, 'escape', 'sub/../../']) {
      await expect(callRun(provider, { argv: ['pwd'], cwd }), cwd).rejects.toMatchObject({ code: 'DENIED' })
    }
    await expect(callRun(provider, { argv: ['pwd'], cwd: 'missing' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
  })

  test('refuses file operands outside the roots, including through a symlink', async () => {
    writeFileSync(path.join(outside, 'secret.txt'), 'secret')
    symlinkSync(path.join(outside, 'secret.txt'), path.join(root, 'link.txt'))
    writeFileSync(path.join(root, 'ok.txt'), 'fine')
    const provider = make()
    expect((await callRun(provider, { argv: ['cat', 'ok.txt'] })).stdout).toBe('fine')
    for (const file of ['/etc/passwd', '../x', 'link.txt', path.join(outside, 'secret.txt')]) {
      await expect(callRun(provider, { argv: ['cat', file] }), file).rejects.toMatchObject({ code: 'DENIED' })
    }
    await expect(callRun(provider, { argv: ['ls', '-la', outside] })).rejects.toMatchObject({
      code: 'DENIED',
    })
  })

  test('writes stdin when given and closes it otherwise', async () => {
    const provider = make()
    expect((await callRun(provider, { argv: ['cat'], stdin: 'from python' })).stdout).toBe('from python')
    const bytes = (await callRun(provider, { argv: ['cat'], stdin: new Uint8Array([0x68, 0x69, 0xff]) }))
      .stdout
    expect(bytes).toBe('hi\ufffd')
    const started = Date.now()
    expect((await callRun(provider, { argv: ['cat'] })).stdout).toBe('')
    expect(Date.now() - started).toBeLessThan(2000)
  })

  test('returns a failing exit code as a result', async () => {
    const result = await callRun(make(), { argv: ['ls', 'does-not-exist'] })
    expect(result.returncode).toBe(2)
    expect(result.stderr).toMatch(/does-not-exist/)
  })

  test('refuses arguments over maxArgBytes and stdin over maxStdinBytes', async () => {
    const provider = make({ maxArgBytes: 100, maxStdinBytes: 10 })
    await expect(callRun(provider, { argv: ['printf', 'x'.repeat(100)] })).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
    })
    await expect(callRun(provider, { argv: ['cat'], stdin: 'x'.repeat(11) })).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
    })
  })

  test('stops an output flood at the cap and reports it truncated', async () => {
    const started = Date.now()
    const result = await callRun(make({ maxOutputBytes: 64 * 1024 }), { argv: ['yes', 'flood'] })
    expect(result.truncated).toBe(true)
    expect(result.stdout.length).toBe(64 * 1024)
    expect(result.returncode).toBe(-9)
    expect(Date.now() - started).toBeLessThan(3000)
  })

  test('times out, kills a setsid daemon and a SIGTERM-ignoring child, and leaves nothing behind', async () => {
    const tag = uniqueSleep()
    const provider = make({ commands: { sh: { dangerous: true } }, timeoutMs: 700 })
    const script = `trap '' TERM; (setsid sleep ${tag} >/dev/null 2>&1 &); sleep ${tag} & wait`
    await expect(callRun(provider, { argv: ['sh', '-c', script] })).rejects.toMatchObject({ code: 'TIMEOUT' })
    expect(livePidsWith(tag)).toEqual([])
  })

  test('takes the shorter of the Python timeout and the provider cap', async () => {
    const started = Date.now()
    await expect(callRun(make(), { argv: ['sleep', '5'], timeout: 0.3 })).rejects.toMatchObject({
      code: 'TIMEOUT',
    })
    expect(Date.now() - started).toBeLessThan(2000)
  })

  test('kills a daemon left behind by a command that exited normally', async () => {
    const tag = uniqueSleep()
    const provider = make({ commands: { sh: { dangerous: true } } })
    const result = await callRun(provider, {
      argv: ['sh', '-c', `setsid sleep ${tag} >/dev/null 2>&1 & echo started`],
    })
    expect(result.stdout).toBe('started\n')
    expect(livePidsWith(tag)).toEqual([])
  })

  test('kills the command promptly when the call is aborted', async () => {
    const tag = uniqueSleep()
    const ctx = testContext()
    const running = callRun(make(), { argv: ['sleep', tag] }, ctx)
    // The command starts after the scan for hidden paths, a few event-loop turns later.
    await vi.waitFor(() => expect(livePidsWith(tag).length).toBeGreaterThan(0))
    const started = Date.now()
    ctx.controller.abort()
    await expect(running).rejects.toMatchObject({ code: 'CANCELLED' })
    expect(Date.now() - started).toBeLessThan(1000)
    expect(livePidsWith(tag)).toEqual([])
  })

  test('refuses more concurrent commands per session than allowed', async () => {
    const provider = make({ maxConcurrentPerSession: 1 })
    const ctx = testContext({ sessionId: 'busy' })
    const running = callRun(provider, { argv: ['sleep', uniqueSleep()] }, ctx)
    await expect(
      callRun(provider, { argv: ['printf', 'x'] }, testContext({ sessionId: 'busy' })),
    ).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
    })
    expect(
      (await callRun(provider, { argv: ['printf', 'x'] }, testContext({ sessionId: 'other' }))).stdout,
    ).toBe('x')
    ctx.controller.abort()
    await expect(running).rejects.toMatchObject({ code: 'CANCELLED' })
    expect(
      (await callRun(provider, { argv: ['printf', 'y'] }, testContext({ sessionId: 'busy' }))).stdout,
    ).toBe('y')
  })

  test('refuses a command that is not allowlisted', async () => {
    await expect(callRun(make(), { argv: ['rm', '-rf', root] })).rejects.toMatchObject({ code: 'DENIED' })
  })
})

describe.skipIf(!bwrapAvailable)(
  `shell.run inside bubblewrap${bwrapAvailable ? '' : ` (${NO_BWRAP})`}`,
  () => {
    test('hides the host and enforces read-only roots', async () => {
      const ro = sandboxOwned(tempDir('shell-ro-'))
      const rw = sandboxOwned(tempDir('shell-rw-'))
      const provider = shellProvider({
        commands: { sh: { dangerous: true } },
        roots: [{ path: ro }, { path: rw, write: true }],
        sandbox: 'bwrap',
      })
      const script = `ls /root /home 2>&1; cat /etc/shadow 2>&1; touch ${ro}/x 2>&1; touch ${rw}/y && echo wrote; touch /tmp/z && echo tmp`
      const result = await callRun(provider, { argv: ['sh', '-c', script] })
      expect(result.stdout).toMatch(/No such file/)
      expect(result.stdout).toMatch(/Read-only file system/)
      expect(result.stdout).toContain('wrote\ntmp\n')
      expect(existsSync(path.join(ro, 'x'))).toBe(false)
      expect(existsSync(path.join(rw, 'y'))).toBe(true)
      expect(existsSync('/tmp/z')).toBe(false)
    })
  },
)

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Capsule, probeSandbox, type Session } from '../../src/index.js'
import { defaultPython, sandboxedPython } from '../pythons.js'

const probe = await probeSandbox()
const why = probe.available ? '' : `bubblewrap is unavailable here: ${probe.message}`

// The sandbox suite proper (packages/core/test/sandbox) attacks the bwrap command line directly; these
// run the same kind of escape through a real session, as user code would.
describe.skipIf(!probe.available)(`a sandboxed session ${why}`, () => {
  let capsule: Capsule
  let session: Session
  const secret = `capsule-secret-${process.pid}`
  let hostTmpFile = ''
  const server = createServer((socket) => socket.end('reached'))

  beforeAll(async () => {
    hostTmpFile = join(mkdtempSync(join(tmpdir(), 'capsule-host-')), 'secret.txt')
    writeFileSync(hostTmpFile, secret)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    process.env.CAPSULE_LEAK_CHECK = secret
    capsule = new Capsule({ python: sandboxedPython, level: 'standard', limits: { memoryMb: 512 } })
    session = await capsule.session()
  })
  afterAll(async () => {
    delete process.env.CAPSULE_LEAK_CHECK
    server.close()
    if (hostTmpFile) rmSync(dirname(hostTmpFile), { recursive: true, force: true })
    await capsule?.close()
  })

  test("info() tells the truth: 'auto' below unrestricted means bubblewrap", () => {
    expect(session.info().sandbox).toBe('bwrap')
  })

  test('TCP to a host server on 127.0.0.1 does not get out', async () => {
    const port = (server.address() as { port: number }).port
    const result = await session.run(
      `import socket\nsocket.create_connection(("127.0.0.1", ${port}), timeout=2).recv(10)`,
    )
    expect(result.status).toBe('error')
    expect(result.error?.ename).toMatch(/ConnectionRefusedError|OSError|TimeoutError/)
  })

  test('host files in /tmp and $HOME are not visible, and / is read-only', async () => {
    const result = await session.run(
      `import os\n(os.path.exists(${JSON.stringify(hostTmpFile)}), os.path.exists(${JSON.stringify(join(homedir(), '.bash_history'))}), os.access("/usr", os.W_OK))`,
    )
    expect(result.value?.['text/plain']).toBe('(False, False, False)')
    expect((await session.run('open("/etc/capsule-pwned", "w")')).error?.ename).toMatch(
      /OSError|PermissionError/,
    )
  })

  test('the host environment does not leak in', async () => {
    const result = await session.run('import os\n[k for k, v in os.environ.items() if "capsule-secret" in v]')
    expect(result.value?.['text/plain']).toBe('[]')
  })

  test('the worker holds no capabilities', async () => {
    const result = await session.run(
      '[l for l in open("/proc/self/status") if l.startswith("CapEff")][0].split()[1]',
    )
    expect(result.value?.['text/plain']).toBe("'0000000000000000'")
  })

  test('an allocation bomb ends with MemoryError and the session stays usable', async () => {
    const result = await session.run('b = bytearray(4 << 30)')
    expect(result.error?.ename).toBe('MemoryError')
    expect((await session.run('1 + 1')).value?.['text/plain']).toBe('2')
  })

  test('a worker that dies by a signal inside the sandbox is reported with that signal', async () => {
    const error = await session.run('import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)').catch((e) => e)
    expect(error).toMatchObject({
      code: 'WORKER_EXITED',
      details: expect.objectContaining({ signal: 'SIGSEGV' }),
    })
    expect((await session.run('"back"')).value?.['text/plain']).toBe("'back'")
  })

  test('capabilities still work from inside: input() round-trips over the pipes', async () => {
    const result = await session.run('input("ok? ")', { onInput: () => 'yes' })
    expect(result.value?.['text/plain']).toBe("'yes'")
  })
})

describe('sandbox selection', () => {
  test("sandboxInForce() spells out what 'auto' means at each level", () => {
    const auto = new Capsule({ sandbox: 'auto' })
    expect(auto.sandboxInForce()).toBe('bwrap')
    expect(auto.sandboxInForce('unrestricted')).toBe('none')
    expect(new Capsule({ sandbox: 'none' }).sandboxInForce('sandbox')).toBe('none')
    expect(new Capsule({ sandbox: 'bwrap', level: 'unrestricted' }).sandboxInForce()).toBe('bwrap')
  })

  test("'auto' at unrestricted runs without the sandbox, and info() says so", async () => {
    const capsule = new Capsule({ python: defaultPython.python, level: 'unrestricted' })
    try {
      expect((await capsule.session()).info().sandbox).toBe('none')
    } finally {
      await capsule.close()
    }
  })

  test('a sandbox that cannot start is SANDBOX_UNAVAILABLE with a fix, never a silent fallback', async () => {
    const capsule = new Capsule({ python: defaultPython.python, bwrapPath: '/nonexistent/bwrap' })
    const error = await capsule.session().catch((e) => e)
    expect(error).toMatchObject({ code: 'SANDBOX_UNAVAILABLE' })
    expect(error.message).toMatch(/sandbox: 'none'/)
  })
})

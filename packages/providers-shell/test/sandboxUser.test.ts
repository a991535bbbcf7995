// Who a sandboxed shell command is, and what it can reach, when the host runs as root (as CI does). It
// used to be host root with no user namespace, no seccomp and a writable /proc/sys.
import { chmodSync, mkdirSync, readFileSync, readlinkSync, statSync } from 'node:fs'
import path from 'node:path'
import { ProviderDefinitionError } from '@capsule/provider-sdk'
import { afterEach, describe, expect, test, vi } from 'vitest'
import { PROC_WRITE_PROBE, type ProcWriteProbe } from '../../sandbox/test/sandboxHarness.js'
import { type ShellProviderOptions, shellProvider } from '../src/index.js'
import { SANDBOX_TEST_USER, sandboxOwned, tempDir } from './tempDir.js'
import { bwrapAvailable, callRun, livePidsWith, NO_BWRAP, testContext, uniqueSleep } from './testContext.js'

const root = process.getuid?.() === 0
const why = !bwrapAvailable ? ` (${NO_BWRAP})` : !root ? ' (skipped: the host is not root)' : ''
const X64 = process.arch === 'x64'

/** Real, effective, saved and filesystem uids of a host process. */
function hostUids(pid: number): number[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Uid:'))!
  return line.split(/\s+/).slice(1, 5).map(Number)
}

/** The host pid of the running `sleep <tag>` itself (not bwrap, whose argv holds the tag too). */
async function sleeperPid(tag: string): Promise<number> {
  let pid: number | undefined
  await vi.waitFor(() => {
    pid = livePidsWith(tag).find((p) => readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'sleep')
    expect(pid).toBeDefined()
  })
  return pid!
}

describe.skipIf(why !== '')(`a root host's sandboxed shell commands${why}`, () => {
  const disposals: Array<() => unknown> = []
  afterEach(async () => {
    for (const dispose of disposals.splice(0)) await dispose()
  })
  const make = (options: Partial<ShellProviderOptions> & Pick<ShellProviderOptions, 'roots'>) => {
    const provider = shellProvider({
      commands: { sleep: {}, touch: {}, python3: { path: '/usr/bin/python3', dangerous: true } },
      sandbox: 'bwrap',
      maxConcurrentPerSession: 8,
      ...options,
    })
    disposals.push(() => provider.dispose?.())
    return provider
  }

  test('run as the unprivileged owner of their writable root, dropped before bwrap starts', async () => {
    const rw = sandboxOwned(tempDir('shell-user-rw-'))
    const provider = make({ roots: [{ path: rw, write: true }] })
    await callRun(provider, { argv: ['touch', 'made-by-command'] })
    const made = statSync(path.join(rw, 'made-by-command'))
    expect([made.uid, made.gid]).toEqual([SANDBOX_TEST_USER.uid, SANDBOX_TEST_USER.gid])
    const tag = uniqueSleep()
    const ctx = testContext()
    const running = callRun(provider, { argv: ['sleep', tag] }, ctx)
    const pid = await sleeperPid(tag)
    const uid = SANDBOX_TEST_USER.uid
    expect(hostUids(pid)).toEqual([uid, uid, uid, uid])
    // bwrap, the sleeper's ancestor, never ran as root either; and nothing maps to host uid 0.
    for (const launcher of livePidsWith(tag)) expect(hostUids(launcher)).toEqual([uid, uid, uid, uid])
    expect(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).map(Number)).toEqual([
      uid,
      uid,
      1,
    ])
    ctx.controller.abort()
    await expect(running).rejects.toMatchObject({ code: 'CANCELLED' })
  })

  test('with only read-only roots, each command gets a uid of its own from the sandbox block', async () => {
    const ro = tempDir('shell-user-ro-')
    chmodSync(ro, 0o755)
    const provider = make({ roots: [{ path: ro }] })
    const [tagA, tagB] = [uniqueSleep(), uniqueSleep()]
    const [ctxA, ctxB] = [testContext(), testContext()]
    const runs = [
      callRun(provider, { argv: ['sleep', tagA] }, ctxA),
      callRun(provider, { argv: ['sleep', tagB] }, ctxB),
    ]
    const [uidA] = hostUids(await sleeperPid(tagA))
    const [uidB] = hostUids(await sleeperPid(tagB))
    expect(uidA).not.toBe(uidB)
    for (const uid of [uidA!, uidB!]) {
      expect(uid).toBeGreaterThanOrEqual(0x70000000)
      expect(uid).toBeLessThan(0x70000000 + 65536)
    }
    ctxA.controller.abort()
    ctxB.controller.abort()
    await Promise.allSettled(runs)
  })

  test('cannot open a single file under /proc/sys (or /proc/irq, /proc/bus) for writing', async () => {
    const rw = sandboxOwned(tempDir('shell-user-proc-'))
    const result = await callRun(make({ roots: [{ path: rw, write: true }] }), {
      argv: ['python3', '-I', '-c', PROC_WRITE_PROBE],
    })
    expect(result.stderr).toBe('')
    const seen = JSON.parse(result.stdout) as ProcWriteProbe
    expect(seen.files).toBeGreaterThan(100)
    expect(seen.writable).toEqual([])
  })

  test('runs under the worker’s seccomp filter, in a user namespace that cannot nest another', async () => {
    const rw = sandboxOwned(tempDir('shell-user-seccomp-'))
    // Syscall numbers from the filter's own tables: kcmp, pidfd_getfd, ptrace, unshare.
    const numbers = X64 ? [312, 438, 101, 272] : [272, 438, 117, 97]
    const code = `import ctypes, errno, json, os
libc = ctypes.CDLL(None, use_errno=True)
def call(nr, *args):
    return 'ok' if libc.syscall(nr, *[ctypes.c_long(a) for a in args]) >= 0 else errno.errorcode[ctypes.get_errno()]
print(json.dumps({'kcmp': call(${numbers[0]}, os.getpid(), os.getpid(), 0, 0, 0),
  'pidfd_getfd': call(${numbers[1]}, -1, 0, 0), 'ptrace': call(${numbers[2]}, 0x10, 1, 0, 0),
  'unshareUser': call(${numbers[3]}, 0x10000000),
  'ownUserNamespace': os.readlink('/proc/self/ns/user') != ${JSON.stringify(readLinkSelf())}}))`
    const result = await callRun(make({ roots: [{ path: rw, write: true }] }), {
      argv: ['python3', '-I', '-c', code],
    })
    expect(JSON.parse(result.stdout)).toEqual({
      kcmp: 'EPERM',
      pidfd_getfd: 'EPERM',
      ptrace: 'EPERM',
      unshareUser: 'EPERM',
      ownUserNamespace: true,
    })
  })

  test('a writable root owned by root, or one the sandbox user cannot reach, is refused at configuration', () => {
    const byRoot = tempDir('shell-user-rootowned-')
    expect(() => make({ roots: [{ path: byRoot, write: true }] })).toThrow(ProviderDefinitionError)
    expect(() => make({ roots: [{ path: byRoot, write: true }] })).toThrow(
      /owned by root.*chown.*sandboxUser/,
    )
    // mkdtemp makes 0700 directories: a leased uid cannot even list it.
    const closed = tempDir('shell-user-closed-')
    expect(() => make({ roots: [{ path: closed }] })).toThrow(/cannot read .*shell-user-closed-/)
    // Given explicitly, the identity is checked the same way.
    const other = sandboxOwned(tempDir('shell-user-other-'))
    mkdirSync(path.join(other, 'private'), { mode: 0o700 })
    expect(() =>
      make({ roots: [{ path: path.join(other, 'private'), write: true }], sandboxUser: SANDBOX_TEST_USER }),
    ).toThrow(/cannot write .*private/)
    expect(() => make({ roots: [{ path: other, write: true }], sandboxUser: { uid: 0, gid: 0 } })).toThrow(
      /sandboxUser/,
    )
  })
})

/** The host's own user namespace, which a command must not share. */
function readLinkSelf(): string {
  return readlinkSync('/proc/self/ns/user')
}

// Who a sandboxed worker is on the host. Run as root (as CI does), where the worker used to be host root
// in all but capabilities: each worker now has an unprivileged uid of its own, dropped before bwrap.
import { spawnSync } from 'node:child_process'
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SandboxError, SandboxUidPool } from '@capsule/sandbox'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { PROC_WRITE_PROBE, type ProcWriteProbe } from '../../../sandbox/test/sandboxHarness.js'
import {
  Capsule,
  CapsuleError,
  type CapsuleOptions,
  isCapsuleError,
  probeSandbox,
  type Session,
} from '../../src/index.js'
import { sandboxedPython } from '../pythons.js'

const probe = await probeSandbox()
const root = process.getuid?.() === 0
const why = !probe.available
  ? ` (skipped: bubblewrap is unavailable: ${probe.message})`
  : !root
    ? ' (skipped: the host is not root, so there is no uid to drop)'
    : ''
const PYENV_PYTHON = '/root/.pyenv/versions/3.11.7/bin/python3.11'

const temps: string[] = []
/** A temp dir other users may enter (mkdtemp makes it 0700), removed after the file. */
function openTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  chmodSync(dir, 0o755)
  temps.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** Every process below `pid`, from /proc (no children file on every kernel). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)])
    } catch {}
  }
  const found: number[] = []
  const queue = [pid]
  while (queue.length > 0) {
    for (const child of parents.get(queue.shift()!) ?? []) {
      found.push(child)
      queue.push(child)
    }
  }
  return found
}

/** Real, effective, saved and filesystem uids of a process, as the host sees them. */
function hostUids(pid: number): number[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Uid:'))!
  return line.split(/\s+/).slice(1, 5).map(Number)
}

/** The host pid of a session's Python process (the launcher's pid is bwrap's). */
function pythonPid(session: Session): number {
  const launcher = session.info().pid!
  const python = descendants(launcher).find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('python')
    } catch {
      return false
    }
  })
  if (python === undefined) throw new Error(`no python below ${launcher}`)
  return python
}

/** Runs Python on the host as `uid`/`gid`, like any process of that user, and parses its JSON. */
function runAs(uid: number, gid: number, code: string): Record<string, string> {
  const result = spawnSync('/usr/bin/python3', ['-I', '-c', code], { uid, gid, cwd: '/', encoding: 'utf8' })
  if (result.status !== 0) throw new Error(result.stderr)
  return JSON.parse(result.stdout)
}

// With attach: PTRACE_ATTACH, never used where it could succeed (an attached worker would stop).
const ATTEMPTS = (target: number, attach = true) => `
import ctypes, errno, json, os
def attempt(fn):
    try:
        fn()
        return 'ok'
    except OSError as e:
        return errno.errorcode[e.errno]
libc = ctypes.CDLL(None, use_errno=True)
def attach():
    if libc.ptrace(16, ${target}, None, None) != 0:  # PTRACE_ATTACH
        raise OSError(ctypes.get_errno(), 'ptrace')
    libc.ptrace(17, ${target}, None, None)  # PTRACE_DETACH, should it ever succeed
out = {'signal': attempt(lambda: os.kill(${target}, 0)),
  'readEnviron': attempt(lambda: open('/proc/${target}/environ', 'rb').read())}
${attach ? "out['attach'] = attempt(attach)" : ''}
print(json.dumps(out))`

describe.skipIf(why !== '')(`a root host's sandboxed workers${why}`, () => {
  let leaseDir: string
  let capsule: Capsule
  let a: Session
  let b: Session

  beforeAll(async () => {
    // A lease directory of its own: the test leaves nothing in /run.
    leaseDir = mkdtempSync(join(tmpdir(), 'capsule-leases-'))
    temps.push(leaseDir)
    capsule = new Capsule({ python: sandboxedPython, level: 'standard', sandboxUser: { leaseDir } })
    ;[a, b] = await Promise.all([capsule.session(), capsule.session()])
  })
  afterAll(async () => {
    await capsule?.close()
  })

  test('a worker runs as an unprivileged host uid of the sandbox block, dropped before bwrap starts', () => {
    const python = pythonPid(a)
    const [uid] = hostUids(python)
    expect(hostUids(python)).toEqual([uid, uid, uid, uid])
    expect(uid).not.toBe(0)
    expect(uid).toBeGreaterThanOrEqual(0x70000000)
    expect(uid).toBeLessThan(0x70000000 + 65536)
    // The launcher (bwrap) itself never ran as root.
    expect(hostUids(a.info().pid!)).toEqual([uid, uid, uid, uid])
    // Supplementary groups are dropped with the uid: the shared sandbox gid only.
    const groups = readFileSync(`/proc/${python}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Groups:'))!
    expect(groups.split(/\s+/).slice(1).filter(Boolean)).toEqual([])
  })

  test('the uid map of the worker, read from the host, maps nothing to host uid 0', async () => {
    const python = pythonPid(a)
    const [uid] = hostUids(python)
    const map = readFileSync(`/proc/${python}/uid_map`, 'utf8').trim().split(/\s+/).map(Number)
    // inside outside count: 1000 inside is the leased uid outside, and nothing else is mapped.
    expect(map).toEqual([1000, uid, 1])
    // Inside, the file is relative to bwrap's intermediate namespace (--disable-userns nests one):
    // it cannot name a host uid at all.
    const inside = await a.run('open("/proc/self/uid_map").read().split()')
    expect(inside.value?.['text/plain']).toBe("['1000', '0', '1']")
  })

  test('from a worker, not one file under /proc/sys (or /proc/irq, /proc/bus) opens for writing', async () => {
    const result = await a.run(PROC_WRITE_PROBE)
    const seen = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as ProcWriteProbe
    expect(seen.files).toBeGreaterThan(100)
    expect(seen.writable).toEqual([])
  })

  test('two sessions have distinct uids; one uid can neither signal nor trace the other worker', () => {
    const [pa, pb] = [pythonPid(a), pythonPid(b)]
    const [uidA] = hostUids(pa)
    const [uidB] = hostUids(pb)
    expect(uidA).not.toBe(uidB)
    const gid = Number(
      readFileSync(`/proc/${pa}/status`, 'utf8')
        .split('\n')
        .find((l) => l.startsWith('Gid:'))!
        .split(/\s+/)[1],
    )
    // Control: the same user may signal and read its own worker, so the refusals below are the uid's.
    expect(runAs(uidA!, gid, ATTEMPTS(pa, false))).toEqual({ signal: 'ok', readEnviron: 'ok' })
    expect(runAs(uidA!, gid, ATTEMPTS(pb))).toEqual({
      signal: 'EPERM',
      readEnviron: 'EACCES',
      attach: 'EPERM',
    })
  })

  test('from inside, a worker cannot even name another session’s worker', async () => {
    const other = pythonPid(b)
    const result = await a.run(`${ATTEMPTS(other)}`)
    expect(JSON.parse(result.stdout)).toEqual({ signal: 'ESRCH', readEnviron: 'ENOENT', attach: 'EPERM' })
  })

  test('a uid is leased per worker and given back when it exits; an exhausted block is SANDBOX_UNAVAILABLE', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'capsule-leases-'))
    temps.push(dir)
    const first = 0x70010000
    const one = new Capsule({
      python: sandboxedPython,
      sandboxUser: { leaseDir: dir, uids: { first, count: 1 } },
    })
    try {
      const s1 = await one.session()
      expect(hostUids(pythonPid(s1))[0]).toBe(first)
      expect(readdirSync(dir)).toEqual([expect.stringMatching(new RegExp(`^${first}-${process.pid}-\\d+$`))])
      const refused = await one.session().catch((error: unknown) => error)
      expect(refused).toMatchObject({ code: 'SANDBOX_UNAVAILABLE', details: { reason: 'uids-exhausted' } })
      await s1.close()
      expect(readdirSync(dir)).toEqual([])
      const s2 = await one.session()
      expect(hostUids(pythonPid(s2))[0]).toBe(first)
    } finally {
      await one.close()
    }
  })

  test.runIf(existsSync(PYENV_PYTHON))(
    'an interpreter under /root (mode 700) is SANDBOX_UNAVAILABLE naming the fix, never run as root',
    async () => {
      const capsule = new Capsule({ python: PYENV_PYTHON, sandboxUser: { leaseDir } })
      try {
        const error = await capsule.session().catch((caught: unknown) => caught)
        expect(isCapsuleError(error, 'SANDBOX_UNAVAILABLE')).toBe(true)
        expect((error as CapsuleError).message).toMatch(/lives under \/root.*python: '\/usr\/bin\/python3'/)
        expect((error as CapsuleError).details).toMatchObject({ reason: 'unreachable' })
      } finally {
        await capsule.close()
      }
    },
  )

  test.runIf(existsSync(PYENV_PYTHON))(
    'bwrap resolves even --ro-bind-fd back to a path, so a prefix under /root cannot be bound by descriptor',
    () => {
      // Why such an interpreter is refused rather than bound through a descriptor the host opened:
      // bwrap realpath()s /proc/self/fd/N into the path string and mounts that, as the sandbox uid.
      const prefix = '/root/.pyenv/versions/3.11.7'
      const lease = new SandboxUidPool({ leaseDir }).lease()
      const reachable = openTempDir('capsule-fd-bind-')
      writeFileSync(join(reachable, 'marker'), '')
      const fds = [openSync(reachable, constants.O_RDONLY | constants.O_DIRECTORY)]
      fds.push(openSync(prefix, constants.O_RDONLY | constants.O_DIRECTORY))
      const run = (command: string, args: string[], fd: number) =>
        spawnSync(command, args, {
          uid: lease.uid,
          gid: lease.gid,
          cwd: '/',
          env: {},
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe', fd],
        })
      const bindFd = (fd: number) =>
        run(
          probe.available ? probe.bwrapPath : '',
          [
            '--unshare-all',
            '--unshare-user',
            '--ro-bind',
            '/',
            '/',
            '--ro-bind-fd',
            '3',
            '/tmp',
            '--',
            '/bin/ls',
            '/tmp',
          ],
          fd,
        )
      try {
        // Control: the same command binds a directory the uid can traverse.
        expect(bindFd(fds[0]!)).toMatchObject({ status: 0, stdout: 'marker\n' })
        // Through the descriptor the uid may run the interpreter: the files are 755/644, only /root is 700.
        expect(run('/bin/sh', ['-c', 'test -x /proc/self/fd/3/bin/python3.11'], fds[1]!).status).toBe(0)
        const refused = bindFd(fds[1]!)
        expect(refused.status).not.toBe(0)
        expect(refused.stderr).toContain("Can't find source path /proc/self/fd/3: Permission denied")
      } finally {
        for (const fd of fds) closeSync(fd)
        lease.release()
      }
    },
  )

  test('a writable mount the sandbox user cannot write is refused; given to the sandbox group, it works', async () => {
    const data = openTempDir('capsule-mount-')
    const options: CapsuleOptions = {
      python: sandboxedPython,
      sandboxUser: { leaseDir },
      mounts: [{ source: data, write: true }],
    }
    const refusing = new Capsule(options)
    try {
      const error = await refusing.session().catch((caught: unknown) => caught)
      expect(error).toMatchObject({ code: 'SANDBOX_UNAVAILABLE' })
      expect((error as Error).message).toContain(`write ${data}`)
      expect((error as Error).message).toMatch(/chgrp 1879048192/)
    } finally {
      await refusing.close()
    }
    spawnSync('chgrp', ['1879048192', data])
    chmodSync(data, 0o2775)
    const working = new Capsule(options)
    try {
      const session = await working.session()
      const result = await session.run(`open(${JSON.stringify(join(data, 'out.txt'))}, 'w').write('hi')`)
      expect(result.status).toBe('ok')
      const written = statSync(join(data, 'out.txt'))
      expect(written.uid).toBe(hostUids(pythonPid(session))[0])
      expect(written.uid).not.toBe(0)
    } finally {
      await working.close()
    }
  })
})

describe.skipIf(!probe.available)(
  `what of the interpreter the sandbox shows${probe.available ? '' : why}`,
  () => {
    test('only the interpreter’s own prefixes: not the two directories above its executable', async () => {
      // A copy of the system python in a directory of its own: Python finds no stdlib beside it and
      // reports the /usr prefix; the directory (with a secret in it) must stay out of the sandbox.
      const dir = openTempDir('capsule-python-copy-')
      mkdirSync(join(dir, 'bin'), { mode: 0o755 })
      copyFileSync(realpathSync(sandboxedPython), join(dir, 'bin', 'python3'))
      chmodSync(join(dir, 'bin', 'python3'), 0o755)
      writeFileSync(join(dir, 'secret.txt'), 'not for the sandbox')
      const capsule = new Capsule({
        python: join(dir, 'bin', 'python3'),
        sandboxUser: { leaseDir: openTempDir('l-') },
      })
      try {
        const session = await capsule.session()
        const seen = await session.run(
          `import os, sys\n(sys.prefix, os.path.exists(${JSON.stringify(join(dir, 'secret.txt'))}), os.path.exists(${JSON.stringify(join(dir, 'bin', 'python3'))}))`,
        )
        expect(seen.value?.['text/plain']).toBe("('/usr', False, True)")
      } finally {
        await capsule.close()
      }
    })

    test('an interpreter whose prefix is a home directory is refused unless a mount names it', async () => {
      const home = openTempDir('capsule-home-')
      const venv = spawnSync(realpathSync(sandboxedPython), ['-m', 'venv', '--without-pip', home])
      expect(venv.status).toBe(0)
      writeFileSync(join(home, '.netrc'), 'machine example.org password hunter2')
      const savedHome = process.env.HOME
      process.env.HOME = home
      const options: CapsuleOptions = {
        python: join(home, 'bin', 'python3'),
        sandboxUser: { leaseDir: openTempDir('l-') },
      }
      try {
        const refusing = new Capsule(options)
        const error = await refusing.session().catch((caught: unknown) => caught)
        await refusing.close()
        expect(error).toMatchObject({
          code: 'SANDBOX_UNAVAILABLE',
          details: { reason: 'exposes-home', path: home },
        })
        expect((error as Error).message).toMatch(/is a home directory.*name .* in `mounts`/)
        // Named on purpose: the host accepts that the home is visible (read-only).
        const accepting = new Capsule({ ...options, mounts: [{ source: home, write: false }] })
        try {
          const session = await accepting.session()
          const seen = await session.run(`open(${JSON.stringify(join(home, '.netrc'))}).read()`)
          expect(seen.value?.['text/plain']).toContain('hunter2')
        } finally {
          await accepting.close()
        }
      } finally {
        process.env.HOME = savedHome
      }
    })
  },
)

test('an error from @capsule/sandbox is a CapsuleError: instanceof, isCapsuleError and its name agree', () => {
  const error = new SandboxError('SANDBOX_UNAVAILABLE', 'no')
  expect(error).toBeInstanceOf(CapsuleError)
  expect(isCapsuleError(error, 'SANDBOX_UNAVAILABLE')).toBe(true)
  expect(error.name).toBe('CapsuleError')
  expect(new Error('plain')).not.toBeInstanceOf(CapsuleError)
  expect(new CapsuleError('TIMEOUT', 'late')).toBeInstanceOf(CapsuleError)
})

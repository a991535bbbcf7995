import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer, type Server } from 'node:net'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  buildSandboxCommand,
  probeSandbox,
  SANDBOX_ETC_BINDS,
  SandboxUidPool,
  seccompSyscallNumber,
} from '../src/index.js'
import {
  ATTEMPT,
  PROC_WRITE_PROBE,
  type ProcWriteProbe,
  PYENV_PYTHON,
  runSandboxed,
  SYSTEM_PYTHON,
  startSandboxed,
} from './sandboxHarness.js'

const probe = await probeSandbox()
if (!probe.available) {
  console.warn(`sandbox tests skipped: ${probe.message}. ${probe.hint}`)
}
const bwrap = probe.available ? probe.bwrapPath : ''
const arch = process.arch === 'arm64' ? 'arm64' : 'x64'
const nr = (name: string) => seccompSyscallNumber(arch, name)!

function listen(server: Server, path?: string): Promise<number> {
  return new Promise((resolve) => {
    if (path) server.listen(path, () => resolve(0))
    else server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port))
  })
}

describe.skipIf(!probe.available)('the worker sandbox', () => {
  let hostDir: string
  let homeSecret: string
  beforeAll(() => {
    hostDir = mkdtempSync(join(tmpdir(), 'capsule-sandbox-host-'))
    writeFileSync(join(hostDir, 'secret.txt'), 'host tmp secret')
    homeSecret = join(homedir(), `.capsule-test-secret-${randomBytes(4).toString('hex')}`)
    writeFileSync(homeSecret, 'host home secret')
  })
  afterAll(() => {
    rmSync(hostDir, { recursive: true, force: true })
    rmSync(homeSecret, { force: true })
  })

  test('starts the system python with the read-only paths and an empty capability set', async () => {
    const result = await runSandboxed(
      bwrap,
      `import json, os, sys, socket
status = dict(l.split(':\\t', 1) for l in open('/proc/self/status').read().splitlines() if ':\\t' in l)
print(json.dumps({'cap': status['CapEff'].strip(), 'uid': os.getuid(), 'host': socket.gethostname(),
  'pid': os.getpid(), 'sid': os.getsid(0), 'exe': sys.executable, 'cwd': os.getcwd()}))`,
    )
    expect(result.stderr).toBe('')
    expect(result.json).toMatchObject({
      cap: '0000000000000000',
      uid: 1000,
      host: 'capsule',
      exe: SYSTEM_PYTHON,
    })
    const facts = result.json as { pid: number; sid: number; cwd: string }
    // Its own PID namespace: the worker is a low pid there, not the host's.
    expect(facts.pid).toBeLessThan(10)
    expect(facts.cwd).toBe('/tmp')
  })

  test.runIf(existsSync(PYENV_PYTHON))(
    'starts a python installed outside /usr with its prefix bound read-only',
    async () => {
      const result = await runSandboxed(
        bwrap,
        `${ATTEMPT}
import ssl, sqlite3
print(json.dumps({'prefix': sys.prefix, 'write': attempt(lambda: open(sys.prefix + '/x', 'w')),
  'home': sorted(os.listdir('/root'))}))`,
        { python: PYENV_PYTHON },
      )
      expect(result.stderr).toBe('')
      expect(result.json).toEqual({
        prefix: '/root/.pyenv/versions/3.11.7',
        write: 'EROFS',
        home: ['.pyenv'],
      })
    },
  )

  test('has no network: TCP and UDP to a host server on 127.0.0.1 do not arrive', async () => {
    let connections = 0
    const server = createServer((socket) => {
      connections += 1
      socket.destroy()
    })
    const port = await listen(server)
    const udp = createSocket('udp4')
    let datagrams = 0
    udp.on('message', () => {
      datagrams += 1
    })
    await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve))
    const udpPort = udp.address().port
    try {
      // Sanity: the host server is reachable from the host, so a zero below means something.
      await new Promise<void>((resolve, reject) => {
        connect(port, '127.0.0.1', resolve).on('error', reject).end()
      })
      const seenBefore = connections
      const result = await runSandboxed(
        bwrap,
        `${ATTEMPT}
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'leak', ('127.0.0.1', ${udpPort}))
print(json.dumps({'tcp': attempt(lambda: socket.create_connection(('127.0.0.1', ${port}), timeout=2)),
  'udp': attempt(udp), 'ifaces': [n for _, n in socket.if_nameindex()],
  'dns': attempt(lambda: socket.getaddrinfo('example.org', 80))}))`,
      )
      expect(result.json).toMatchObject({ tcp: 'ECONNREFUSED', ifaces: ['lo'] })
      expect((result.json as { dns: string }).dns).not.toBe('ok')
      await delay(50) // a datagram that had reached the host socket would be delivered by now
      expect(connections).toBe(seenBefore)
      expect(datagrams).toBe(0)
    } finally {
      server.close()
      udp.close()
    }
  })

  test('cannot reach a host Unix socket, by path or in the abstract namespace', async () => {
    const socketPath = join(hostDir, 'host.sock')
    const abstractName = `\0capsule-test-${randomBytes(4).toString('hex')}`
    const servers = [createServer((s) => s.destroy()), createServer((s) => s.destroy())]
    await listen(servers[0]!, socketPath)
    await listen(servers[1]!, abstractName)
    // Older libuv (Node 20) binds an abstract name padded with NULs to the full sun_path (108 bytes);
    // newer libuv (Node 24) binds the exact name: try the exact name, then the padded one.
    const code = `${ATTEMPT}
def connect(address):
    s = socket.socket(socket.AF_UNIX); s.connect(address)
def connect_abstract(name):
    try:
        connect(name)
    except ConnectionRefusedError:
        connect(name.ljust(108, '\\0'))
print(json.dumps({'path': attempt(lambda: connect(${JSON.stringify(socketPath)})),
  'abstract': attempt(lambda: connect_abstract(${JSON.stringify(abstractName)}))}))`
    try {
      // Sanity: the same code outside the sandbox reaches both.
      const outside = await new Promise<string>((resolve, reject) => {
        let text = ''
        spawn(SYSTEM_PYTHON, ['-I', '-c', code], { stdio: ['ignore', 'pipe', 'inherit'] })
          .on('error', reject)
          .on('close', () => resolve(text))
          .stdout!.setEncoding('utf8')
          .on('data', (chunk: string) => {
            text += chunk
          })
      })
      expect(JSON.parse(outside)).toEqual({ path: 'ok', abstract: 'ok' })
      const result = await runSandboxed(bwrap, code)
      expect(result.json).toEqual({ path: 'ENOENT', abstract: 'ECONNREFUSED' })
    } finally {
      for (const server of servers) server.close()
    }
  })

  test('sees no host home, host /tmp, /run, /var or /sys, and a minimal /etc and /dev', async () => {
    const result = await runSandboxed(
      bwrap,
      `${ATTEMPT}
print(json.dumps({'home': attempt(lambda: open(${JSON.stringify(homeSecret)}).read()),
  'tmp': attempt(lambda: open(${JSON.stringify(join(hostDir, 'secret.txt'))}).read()),
  'tmpList': os.listdir('/tmp'), 'root': sorted(os.listdir('/')), 'etc': sorted(os.listdir('/etc')),
  'dev': sorted(os.listdir('/dev'))}))`,
    )
    const seen = result.json as Record<string, unknown>
    expect(seen.home).toBe('ENOENT')
    expect(seen.tmp).toBe('ENOENT')
    expect(seen.tmpList).toEqual([])
    expect(seen.root).not.toContain('run')
    expect(seen.root).not.toContain('var')
    expect(seen.root).not.toContain('sys')
    expect(seen.root).not.toContain('home')
    const fromHost = SANDBOX_ETC_BINDS.map(({ path }) => path.slice('/etc/'.length)).filter((name) =>
      existsSync(`/etc/${name}`),
    )
    expect(seen.etc).toEqual([...fromHost, 'group', 'hosts', 'nsswitch.conf', 'passwd'].sort())
    for (const secret of [
      'shadow',
      'gshadow',
      'machine-id',
      'hostname',
      'ssh',
      'resolv.conf',
      'sudoers',
      'ssl',
    ]) {
      expect(seen.etc).not.toContain(secret)
    }
    expect(seen.dev).not.toContain('sda')
    expect(seen.dev).not.toContain('vda')
  })

  test('cannot write outside /tmp: /usr, /etc, /, /dev are read-only', async () => {
    const result = await runSandboxed(
      bwrap,
      `${ATTEMPT}
print(json.dumps({p: attempt(lambda: open(p, 'w').write('x')) for p in
  ['/usr/x', '/etc/x', '/x', '/dev/x', '/tmp/x', '/dev/shm/x']}))`,
    )
    expect(result.json).toEqual({
      '/usr/x': 'EROFS',
      '/etc/x': 'EROFS',
      '/x': 'EROFS',
      '/dev/x': 'EROFS',
      '/tmp/x': 'ok',
      '/dev/shm/x': 'ok',
    })
  })

  test('cannot open a single file under /proc/sys (or /proc/irq, /proc/bus) for writing, and sees no kernel memory or log', async () => {
    // Opens only: nothing is ever written, so no host sysctl can change even where an open succeeds.
    const result = await runSandboxed(bwrap, PROC_WRITE_PROBE)
    const seen = result.json as ProcWriteProbe
    expect(result.stderr).toBe('')
    expect(seen.files).toBeGreaterThan(100)
    expect(seen.writable).toEqual([])
    // EROFS from the read-only bind; EACCES where the mode bits already refuse (no capabilities).
    expect(Object.keys(seen.refused)).toContain('EROFS')
    expect(Object.keys(seen.refused).filter((name) => name !== 'EROFS' && name !== 'EACCES')).toEqual([])
    // Covered by /dev/null on a nodev mount: not even opened.
    expect(seen.masked).toEqual(
      Object.fromEntries(
        ['/proc/kcore', '/proc/kmsg', '/proc/keys', '/proc/timer_list']
          .filter((path) => existsSync(path))
          .map((path) => [path, 'EACCES']),
      ),
    )
  })

  test.runIf(process.getuid?.() === 0)(
    'started as a leased unprivileged uid (a root host), runs with no host root anywhere and /proc/sys closed',
    async () => {
      const pool = new SandboxUidPool({ leaseDir: mkdtempSync(join(hostDir, 'leases-')) })
      const lease = pool.lease()
      try {
        const proc = startSandboxed(
          bwrap,
          // Waits on fd 3 until the host has looked at it from outside.
          `import os\nprint('started', flush=True)\nos.read(3, 1)\n${PROC_WRITE_PROBE}`,
          { identity: lease },
        )
        // The host's view of the sandboxed process: its uid, and what its user namespace maps.
        const hostView = new Promise<number[]>((resolve) =>
          proc.stdout.once('data', () => {
            const python = readdirSync('/proc')
              .filter((pid) => /^\d+$/.test(pid))
              .map(Number)
              .find((pid) => {
                try {
                  return (
                    readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('os.read(3, 1)') &&
                    readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('python')
                  )
                } catch {
                  return false
                }
              })!
            const uids = readFileSync(`/proc/${python}/status`, 'utf8')
              .split('\n')
              .find((l) => l.startsWith('Uid:'))!
            const map = readFileSync(`/proc/${python}/uid_map`, 'utf8').trim().split(/\s+/).map(Number)
            resolve([...uids.split(/\s+/).slice(1, 5).map(Number), ...map])
          }),
        )
        expect(await hostView).toEqual([lease.uid, lease.uid, lease.uid, lease.uid, 1000, lease.uid, 1])
        proc.toWorker.end()
        const result = await proc.done
        const seen = JSON.parse(result.stdout.trim().split('\n').at(-1)!) as ProcWriteProbe
        expect(seen.writable).toEqual([])
      } finally {
        lease.release()
      }
    },
  )

  test('cannot mount, unmount or create a user namespace, even without the seccomp layer', async () => {
    const code = `${ATTEMPT}
import subprocess
def mount():
    if libc.mount(b'none', b'/tmp', b'tmpfs', 0, None) != 0:
        return errno.errorcode[ctypes.get_errno()]
    return 'ok'
def umount():
    if libc.umount2(b'/tmp', 2) != 0:
        return errno.errorcode[ctypes.get_errno()]
    return 'ok'
cloned = subprocess.run(['/usr/bin/unshare', '-U', '/usr/bin/true'], capture_output=True)
print(json.dumps({'mount': mount(), 'umount': umount(),
  'unshareUser': syscall(${nr('unshare')}, 0x10000000), 'unshareCmd': cloned.returncode}))`
    const filtered = await runSandboxed(bwrap, code)
    expect(filtered.json).toEqual({ mount: 'EPERM', umount: 'EPERM', unshareUser: 'EPERM', unshareCmd: 1 })
    // Without seccomp, missing capabilities and --disable-userns still refuse.
    const bare = (await runSandboxed(bwrap, code, { seccomp: false })).json as Record<string, unknown>
    expect(bare.mount).toBe('EPERM')
    expect(bare.umount).toBe('EPERM')
    expect(bare.unshareUser).not.toBe('ok')
    expect(bare.unshareCmd).not.toBe(0)
  })

  test('seccomp answers EPERM to kcmp, pidfd_getfd and (x86_64) modify_ldt, which reach the kernel without it', async () => {
    const code = `${ATTEMPT}
calls = {'kcmp': syscall(${nr('kcmp')}, os.getpid(), os.getpid(), 0, 0, 0), 'pidfd_getfd': syscall(${nr('pidfd_getfd')}, -1, 0, 0)}
${arch === 'x64' ? `calls['modify_ldt'] = syscall(${nr('modify_ldt')}, 0, 0, 0)` : ''}
print(json.dumps(calls))`
    const x86 = arch === 'x64'
    const filtered = await runSandboxed(bwrap, code)
    expect(filtered.json).toEqual({
      kcmp: 'EPERM',
      pidfd_getfd: 'EPERM',
      ...(x86 ? { modify_ldt: 'EPERM' } : {}),
    })
    // Without the filter: kcmp compares fd 0 with itself, pidfd_getfd rejects the bad pidfd, modify_ldt reads an empty LDT.
    const bare = await runSandboxed(bwrap, code, { seccomp: false })
    expect(bare.json).toEqual({ kcmp: 'ok', pidfd_getfd: 'EBADF', ...(x86 ? { modify_ldt: 'ok' } : {}) })
  })

  test('seccomp answers EPERM to ptrace, io_uring_setup, bpf, userfaultfd and clone with namespace flags', async () => {
    const code = `${ATTEMPT}
def fork_and_wait():
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
print(json.dumps({'ptrace': syscall(${nr('ptrace')}, 0x10, 1, 0, 0), 'io_uring_setup': syscall(${nr('io_uring_setup')}, 1, 0),
  'bpf': syscall(${nr('bpf')}, 0, 0, 0), 'userfaultfd': syscall(${nr('userfaultfd')}, 0),
  'cloneNewnet': syscall(${nr('clone')}, 0x40000000 | 17, 0, 0, 0, 0), 'clone3': syscall(${nr('clone3')}, 0, 0),
  'forkStillWorks': attempt(fork_and_wait)}))`
    const filtered = await runSandboxed(bwrap, code)
    expect(filtered.json).toEqual({
      ptrace: 'EPERM',
      io_uring_setup: 'EPERM',
      bpf: 'EPERM',
      userfaultfd: 'EPERM',
      cloneNewnet: 'EPERM',
      clone3: 'ENOSYS',
      forkStillWorks: 'ok',
    })
    // Harmless versions of two calls without the filter reach the kernel and fail on their bad
    // arguments instead: the filter, not something else, answered above.
    const bare = await runSandboxed(
      bwrap,
      `${ATTEMPT}
print(json.dumps({'io_uring_setup': syscall(${nr('io_uring_setup')}, 1, 0), 'clone3': syscall(${nr('clone3')}, 0, 0)}))`,
      { seccomp: false },
    )
    expect(bare.json).toEqual({ io_uring_setup: 'EFAULT', clone3: 'EINVAL' })
  })

  test('has no controlling terminal to push input into (TIOCSTI)', async () => {
    const result = await runSandboxed(
      bwrap,
      `${ATTEMPT}
import fcntl, termios, pty
master, slave = os.openpty()
# A session made inside the PID namespace has a visible leader; the host's session would read as 0.
print(json.dumps({'tty': attempt(lambda: open('/dev/tty')), 'ownSession': os.getsid(0) > 0,
  'tiocsti': attempt(lambda: fcntl.ioctl(slave, termios.TIOCSTI, b'x'))}))`,
    )
    expect(result.json).toEqual({ tty: 'ENXIO', ownSession: true, tiocsti: 'EPERM' })
  })

  test('a setsid double-forked daemon does not outlive the killed launcher', async () => {
    const marker = `capsule-daemon-${randomBytes(6).toString('hex')}`
    const proc = startSandboxed(
      bwrap,
      `import os, sys, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        # Assembled here so only the daemon's argv holds the marker, not this script's.
        os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)', ${JSON.stringify(marker.slice(0, 10))} + ${JSON.stringify(marker.slice(10))}])
    os._exit(0)
time.sleep(0.2)
print('ready', flush=True)
time.sleep(60)`,
    )
    const findMarked = () =>
      readdirSync('/proc').filter((pid) => {
        if (!/^\d+$/.test(pid)) return false
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(marker)
        } catch {
          return false
        }
      })
    await new Promise<void>((resolve) =>
      proc.stdout.on('data', (chunk: Buffer | string) => String(chunk).includes('ready') && resolve()),
    )
    // Sanity: the daemon is running and visible from the host.
    expect(findMarked().length).toBe(1)
    proc.child.kill('SIGKILL')
    await proc.done
    // The kernel kills the PID namespace once its init dies; /proc offers no event for unrelated processes.
    const deadline = Date.now() + 3_000
    while (findMarked().length > 0 && Date.now() < deadline) await delay(20)
    expect(findMarked()).toEqual([])
  })

  test('sees only the environment it was given, and the values are not on the command line', async () => {
    process.env.SECRET_TOKEN = 'host-secret-value'
    try {
      const env = { LANG: 'C.UTF-8', GIVEN: 'given-value' }
      const result = await runSandboxed(bwrap, 'import os, json; print(json.dumps(dict(os.environ)))', {
        env,
      })
      // bwrap adds PWD for --chdir; nothing else.
      expect(result.json).toEqual({ ...env, PWD: '/tmp' })
      const command = buildSandboxCommand({
        bwrapPath: bwrap,
        executable: SYSTEM_PYTHON,
        args: [],
        env,
        readOnlyPaths: [],
        mounts: [],
        tmpSizeBytes: 1024,
        keepFds: [],
        network: false,
      })
      expect(command.args.join(' ')).not.toContain('given-value')
    } finally {
      delete process.env.SECRET_TOKEN
    }
  })

  test('passes the frame pipes through on fds 3 and 4', async () => {
    const proc = startSandboxed(
      bwrap,
      `import os
line = os.fdopen(3, 'rb').readline()
os.write(4, line.upper())`,
    )
    proc.toWorker.end('hello over fd 3\n')
    const chunks: Buffer[] = []
    for await (const chunk of proc.fromWorker) chunks.push(chunk as Buffer)
    const result = await proc.done
    expect(result.stderr).toBe('')
    expect(Buffer.concat(chunks).toString()).toBe('HELLO OVER FD 3\n')
  })

  test('binds an explicit mount read-only or writable as asked', async () => {
    const writable = mkdtempSync(join(hostDir, 'rw-'))
    const result = await runSandboxed(
      bwrap,
      `${ATTEMPT}
print(json.dumps({'ro': attempt(lambda: open('/mnt/ro/secret.txt').read()), 'roWrite': attempt(lambda: open('/mnt/ro/y', 'w')),
  'rw': attempt(lambda: open('/mnt/rw/out.txt', 'w').write('from sandbox'))}))`,
      {
        mounts: [
          { source: hostDir, target: '/mnt/ro', write: false },
          { source: writable, target: '/mnt/rw', write: true },
        ],
      },
    )
    expect(result.json).toEqual({ ro: 'ok', roWrite: 'EROFS', rw: 'ok' })
    expect(readFileSync(join(writable, 'out.txt'), 'utf8')).toBe('from sandbox')
  })

  test('adds little start-up time over an unsandboxed python (measured, reported)', async () => {
    const time = async (start: () => Promise<unknown>) => {
      const samples: number[] = []
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now()
        await start()
        samples.push(performance.now() - t0)
      }
      return samples.sort((a, b) => a - b)[2]!
    }
    const plain = await time(
      () =>
        new Promise((resolve) =>
          spawn(SYSTEM_PYTHON, ['-I', '-c', 'pass'], { stdio: 'ignore' }).on('close', resolve),
        ),
    )
    const sandboxed = await time(() => runSandboxed(bwrap, 'pass'))
    console.log(
      `python start-up: plain ${plain.toFixed(1)} ms, sandboxed ${sandboxed.toFixed(1)} ms (+${(sandboxed - plain).toFixed(1)} ms)`,
    )
    expect(sandboxed).toBeGreaterThan(0)
  })
})

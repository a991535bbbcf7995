import { describe, expect, test } from 'vitest'
import {
  BWRAP_ISOLATION_ARGS,
  buildSandboxCommand,
  DEFAULT_SANDBOX_LIMITS,
  type HostFilesystem,
  PROC_MASKED_PATHS,
  PROC_READ_ONLY_PATHS,
  resolveReadOnlyBinds,
  type SandboxRequest,
} from '../src/index.js'

// A merged-/usr host with a python under /opt, a worker source dir, one symlinked venv and two homes.
function fakeHost(extra: Record<string, 'dir' | 'file' | { link: string }> = {}): HostFilesystem {
  const entries: Record<string, 'dir' | 'file' | { link: string }> = {
    '/': 'dir',
    '/usr': 'dir',
    '/bin': { link: 'usr/bin' },
    '/sbin': { link: 'usr/sbin' },
    '/lib': { link: 'usr/lib' },
    '/lib64': { link: 'usr/lib64' },
    '/etc/ld.so.cache': 'file',
    '/etc/localtime': { link: '/usr/share/zoneinfo/Europe/Paris' },
    '/opt/py': 'dir',
    '/opt/py/bin/python3.11': 'file',
    '/opt/py/lib/python3.11': 'dir',
    '/root': 'dir',
    '/home': 'dir',
    '/home/u': 'dir',
    '/home/u/.pyenv/versions/3.12.1': 'dir',
    '/srv/worker': 'dir',
    '/usr/lib/python3.11': 'dir',
    '/home/u/venv': { link: '/srv/venvs/a' },
    '/srv/venvs/a': 'dir',
    ...extra,
  }
  return {
    kind(path) {
      const entry = entries[path]
      return entry === undefined ? 'missing' : typeof entry === 'string' ? entry : 'symlink'
    },
    readlink(path) {
      const entry = entries[path]
      if (typeof entry !== 'object') throw new Error(`not a link: ${path}`)
      return entry.link
    },
    realpath(path) {
      const entry = entries[path]
      if (entry === undefined) return null
      return typeof entry === 'object' ? entry.link : path
    },
    homeDirectories: () => ['/root', '/home/u'],
  }
}

const base: SandboxRequest = {
  bwrapPath: '/usr/bin/bwrap',
  executable: '/opt/py/bin/python3.11',
  args: ['-I', '-m', 'capsule_worker'],
  env: { PYTHONPATH: '/srv/worker', SECRET: 'not-on-argv' },
  readOnlyPaths: [],
  generatedEtcDir: '/gen',
  mounts: [],
  tmpSizeBytes: 64 * 1024 * 1024,
  keepFds: [3, 4],
  network: false,
}

/** The value following `flag` each time it appears, as tuples of its `arity` operands. */
function operands(args: string[], flag: string, arity: number): string[][] {
  const found: string[][] = []
  const end = args.indexOf('--')
  args.slice(0, end).forEach((arg, i) => {
    if (arg === flag) found.push(args.slice(i + 1, i + 1 + arity))
  })
  return found
}

describe('buildSandboxCommand', () => {
  test('unshares every namespace, keeps no network, drops capabilities and user namespaces', () => {
    const { command, args } = buildSandboxCommand(base, fakeHost())
    expect(command).toBe('/usr/bin/bwrap')
    for (const flag of [
      '--unshare-all',
      '--unshare-user',
      '--disable-userns',
      '--die-with-parent',
      '--new-session',
    ]) {
      expect(args).toContain(flag)
    }
    expect(args).not.toContain('--share-net')
    expect(operands(args, '--cap-drop', 1)).toEqual([['ALL']])
    expect(operands(args, '--hostname', 1)).toEqual([['capsule']])
    expect(operands(args, '--uid', 1)).toEqual([['1000']])
  })

  test('starts with the isolation flags every Capsule sandbox shares (the shell provider uses them too)', () => {
    const { args } = buildSandboxCommand(base, fakeHost())
    expect(args.slice(0, BWRAP_ISOLATION_ARGS.length)).toEqual([...BWRAP_ISOLATION_ARGS])
    expect(BWRAP_ISOLATION_ARGS).toEqual(
      expect.arrayContaining(['--unshare-all', '--disable-userns', '--die-with-parent']),
    )
    expect(Object.isFrozen(BWRAP_ISOLATION_ARGS)).toBe(true)
  })

  test('mirrors merged-/usr symlinks and binds the prepared /etc whole, with one mount', () => {
    const { args } = buildSandboxCommand(
      base,
      fakeHost({ '/etc/shadow': 'file', '/etc/ssh': 'dir', '/etc/resolv.conf': 'file' }),
    )
    expect(operands(args, '--symlink', 2)).toEqual([
      ['usr/bin', '/bin'],
      ['usr/sbin', '/sbin'],
      ['usr/lib', '/lib'],
      ['usr/lib64', '/lib64'],
    ])
    const etc = operands(args, '--ro-bind', 2).filter(([, target]) => target!.startsWith('/etc'))
    expect(etc).toEqual([['/gen', '/etc']])
    for (const secret of ['shadow', 'ssh', 'resolv.conf'])
      expect(args.join(' ')).not.toContain(`/etc/${secret}`)
  })

  test('binds real top-level library directories on a host without merged /usr', () => {
    const host = fakeHost({ '/bin': 'dir', '/lib': 'dir', '/lib64': 'missing' as never })
    const { args } = buildSandboxCommand(base, {
      ...host,
      kind: (p) => (p === '/lib64' ? 'missing' : host.kind(p)),
    })
    expect(operands(args, '--ro-bind', 2)).toContainEqual(['/bin', '/bin'])
    expect(operands(args, '--ro-bind', 2)).toContainEqual(['/lib', '/lib'])
    expect(args).not.toContain('/lib64')
  })

  test('binds the executable and the read-only paths once each, skipping missing and nested ones', () => {
    const { args } = buildSandboxCommand(
      {
        ...base,
        readOnlyPaths: [
          '/opt/py/lib/python3.11',
          '/srv/worker',
          '/srv/worker',
          '/usr/lib/python3.11',
          '/nonexistent',
        ],
      },
      fakeHost(),
    )
    const binds = operands(args, '--ro-bind', 2).map(([source]) => source)
    expect(binds).toEqual(['/usr', '/gen', '/srv/worker', '/opt/py/bin/python3.11', '/opt/py/lib/python3.11'])
  })

  test('binds only what it is given: not the two directories above the executable', () => {
    const host = fakeHost({ '/home/u/bin/python3': 'file' })
    const { args } = buildSandboxCommand({ ...base, executable: '/home/u/bin/python3' }, host)
    const binds = operands(args, '--ro-bind', 2).map(([source]) => source)
    expect(binds).toContain('/home/u/bin/python3')
    expect(binds.filter((b) => b === '/home/u' || b === '/home/u/bin' || b === '/home')).toEqual([])
    expect(resolveReadOnlyBinds(['/opt/py/bin/python3.11'], [], host)).toEqual(['/opt/py/bin/python3.11'])
  })

  test.each([
    ['/', 'the root directory'],
    ['/root', 'a home directory'],
    ['/home/u', 'a home directory'],
    ['/home', 'a directory holding the home directory /home/u'],
  ])('refuses to bind %s (%s) unless a mount names it', (path, what) => {
    const request = { ...base, readOnlyPaths: ['/opt/py', path] }
    const error = (() => {
      try {
        buildSandboxCommand(request, fakeHost())
      } catch (caught) {
        return caught as { code: string; message: string; details: Record<string, unknown> }
      }
      throw new Error('no error')
    })()
    expect(error.code).toBe('SANDBOX_UNAVAILABLE')
    expect(error.message).toContain(`${path} is ${what}`)
    expect(error.message).toMatch(/mounts/)
    expect(error.details).toMatchObject({ reason: 'exposes-home', path })
    const named = buildSandboxCommand(
      { ...request, mounts: [{ source: path, target: '/mnt/x', write: false }] },
      fakeHost(),
    )
    expect(operands(named.args, '--ro-bind', 2)).toContainEqual([path, '/mnt/x'])
  })

  test('binds an interpreter prefix deeper in a home directory (pyenv)', () => {
    const { args } = buildSandboxCommand(
      { ...base, readOnlyPaths: ['/home/u/.pyenv/versions/3.12.1'] },
      fakeHost(),
    )
    expect(operands(args, '--ro-bind', 2)).toContainEqual([
      '/home/u/.pyenv/versions/3.12.1',
      '/home/u/.pyenv/versions/3.12.1',
    ])
  })

  test('makes /proc/sys and its kin read-only and masks kernel views, for the entries the kernel has', () => {
    const host = fakeHost({
      '/proc/sys': 'dir',
      '/proc/irq': 'dir',
      '/proc/kcore': 'file',
      '/proc/kmsg': 'file',
      '/proc/acpi': 'dir',
    })
    const { args } = buildSandboxCommand(base, host)
    const binds = operands(args, '--ro-bind', 2)
    expect(binds).toContainEqual(['/proc/sys', '/proc/sys'])
    expect(binds).toContainEqual(['/proc/irq', '/proc/irq'])
    expect(binds).toContainEqual(['/dev/null', '/proc/kcore'])
    expect(binds).toContainEqual(['/dev/null', '/proc/kmsg'])
    // Entries this kernel lacks are left out: bwrap cannot mount on a missing path.
    expect(args).not.toContain('/proc/sysrq-trigger')
    expect(operands(args, '--tmpfs', 1)).toContainEqual(['/proc/acpi'])
    expect(operands(args, '--remount-ro', 1)).toEqual([['/proc/acpi'], ['/dev'], ['/']])
    // After the fresh /proc, which they cover.
    expect(args.indexOf('/proc/sys')).toBeGreaterThan(args.indexOf('--proc'))
    expect(Object.keys(PROC_READ_ONLY_PATHS)).toEqual(
      expect.arrayContaining(['/proc/sys', '/proc/sysrq-trigger', '/proc/irq', '/proc/bus']),
    )
    expect(Object.keys(PROC_MASKED_PATHS)).toEqual(
      expect.arrayContaining([
        '/proc/kcore',
        '/proc/kmsg',
        '/proc/keys',
        '/proc/timer_list',
        '/proc/sched_debug',
      ]),
    )
  })

  test('binds a symlinked prefix at both its real and its literal path', () => {
    const { args } = buildSandboxCommand({ ...base, readOnlyPaths: ['/home/u/venv'] }, fakeHost())
    expect(operands(args, '--ro-bind', 2)).toContainEqual(['/srv/venvs/a', '/srv/venvs/a'])
    expect(operands(args, '--ro-bind', 2)).toContainEqual(['/home/u/venv', '/home/u/venv'])
  })

  test('gives a private size-capped /tmp and /dev/shm, then makes / and /dev read-only', () => {
    const { args } = buildSandboxCommand({ ...base, shmSizeBytes: 1024 }, fakeHost())
    const tmpfs = args.indexOf('/tmp')
    expect(args.slice(tmpfs - 3, tmpfs + 1)).toEqual(['--size', String(64 * 1024 * 1024), '--tmpfs', '/tmp'])
    const shm = args.indexOf('/dev/shm')
    expect(args.slice(shm - 3, shm + 1)).toEqual(['--size', '1024', '--tmpfs', '/dev/shm'])
    expect(operands(args, '--proc', 1)).toEqual([['/proc']])
    expect(operands(args, '--dev', 1)).toEqual([['/dev']])
    expect(operands(args, '--remount-ro', 1)).toEqual([['/dev'], ['/']])
    // No bind of host /tmp, home, /run or /var.
    const sources = [...operands(args, '--ro-bind', 2), ...operands(args, '--bind', 2)].map(([s]) => s)
    expect(sources.filter((s) => /^\/(tmp|home|root|run|var)(\/|$)/.test(s ?? ''))).toEqual([])
  })

  test('binds explicit mounts after the private /tmp, writable only when asked', () => {
    const { args } = buildSandboxCommand(
      {
        ...base,
        mounts: [
          { source: '/data/in', target: '/tmp/in', write: false },
          { source: '/data/out', write: true },
        ],
      },
      fakeHost(),
    )
    expect(operands(args, '--bind', 2)).toEqual([['/data/out', '/data/out']])
    expect(operands(args, '--ro-bind', 2)).toContainEqual(['/data/in', '/tmp/in'])
    expect(args.indexOf('/data/in')).toBeGreaterThan(args.indexOf('/tmp'))
  })

  test('keeps the environment off the command line and hands it back for spawn', () => {
    const result = buildSandboxCommand(base, fakeHost())
    expect(result.args.join('\0')).not.toContain('not-on-argv')
    expect(result.args).not.toContain('--setenv')
    expect(result.env).toEqual(base.env)
  })

  test('ends with the seccomp descriptor, the working directory and the command, limits applied inside', () => {
    const { args } = buildSandboxCommand(
      { ...base, cwd: '/tmp/work', seccomp: { fd: 5 }, limits: DEFAULT_SANDBOX_LIMITS },
      fakeHost(),
    )
    expect(operands(args, '--seccomp', 1)).toEqual([['5']])
    expect(operands(args, '--chdir', 1)).toEqual([['/tmp/work']])
    const end = args.indexOf('--')
    expect(args[end + 1]).toBe('/usr/bin/prlimit')
    expect(args.slice(-4)).toEqual(['/opt/py/bin/python3.11', '-I', '-m', 'capsule_worker'])
  })

  test.each([
    [{ bwrapPath: 'bwrap' }, /bwrapPath must be absolute/],
    [{ executable: 'python3' }, /executable must be absolute/],
    [{ network: true as unknown as false }, /network must be false/],
    [{ tmpSizeBytes: 0 }, /tmpSizeBytes must be an integer ≥ 1 \(got 0\)/],
    [{ readOnlyPaths: ['relative'] }, /must be absolute/],
    [{ mounts: [{ source: '/data', target: '/proc', write: true }] }, /\/proc is reserved/],
    [{ keepFds: [3, 4], seccomp: { fd: 4 } }, /descriptors collide/],
    [{ keepFds: [1] }, /descriptors must be integers ≥ 3/],
    [{ env: { 'A=B': 'x' } }, /not a valid environment variable/],
  ] as Array<[Partial<SandboxRequest>, RegExp]>)('rejects a malformed request (%o)', (change, message) => {
    expect(() => buildSandboxCommand({ ...base, ...change }, fakeHost())).toThrow(message)
    try {
      buildSandboxCommand({ ...base, ...change }, fakeHost())
    } catch (error) {
      expect((error as { code?: string }).code).toBe('INVALID_OPTIONS')
    }
  })
})

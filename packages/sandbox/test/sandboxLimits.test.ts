import { existsSync } from 'node:fs'
import { afterEach, describe, expect, test } from 'vitest'
import {
  applyLimitsCommand,
  createWorkerCgroup,
  DEFAULT_SANDBOX_LIMITS,
  memoryLimitEnv,
  probeSandbox,
  rlimitsEnv,
  type SandboxLimits,
  validateSandboxLimits,
  type WorkerCgroup,
} from '../src/index.js'
import { ATTEMPT, runSandboxed } from './sandboxHarness.js'

const probe = await probeSandbox()
const bwrap = probe.available ? probe.bwrapPath : ''
const MiB = 1024 * 1024
const limits = (overrides: Partial<SandboxLimits>): SandboxLimits => ({
  ...DEFAULT_SANDBOX_LIMITS,
  ...overrides,
})

const GiB2 = 2 * 1024 * MiB

describe('rlimitsEnv', () => {
  test('spells every finite limit for the worker, soft = hard, CPU hard a second later, no core dumps', () => {
    expect(rlimitsEnv(limits({ memoryBytes: 256 * MiB, cpuSeconds: 5 }))).toBe(
      `core=0:0;data=${256 * MiB}:${256 * MiB};as=${256 * MiB + GiB2}:${256 * MiB + GiB2};nproc=64:64;nofile=256:256;fsize=${64 * MiB}:${64 * MiB};cpu=5:6;thread_stack=${2 * MiB}:${2 * MiB}`,
    )
    const unlimited = rlimitsEnv(limits({ memoryBytes: Number.POSITIVE_INFINITY }))
    expect(unlimited).not.toMatch(/as=|data=|thread_stack=/)
  })
  test('a memory limit sets MALLOC_ARENA_MAX for the worker, and no limit sets nothing', () => {
    expect(memoryLimitEnv({ memoryBytes: 256 * MiB })).toEqual({ MALLOC_ARENA_MAX: '4' })
    expect(memoryLimitEnv({ memoryBytes: Number.POSITIVE_INFINITY })).toEqual({})
  })
})

describe('applyLimitsCommand', () => {
  test('wraps a command in prlimit with soft = hard for every finite limit and no core dumps', () => {
    const wrapped = applyLimitsCommand(limits({ memoryBytes: 256 * MiB, cpuSeconds: 5 }), {
      command: '/usr/bin/python3',
      args: ['-c', 'pass'],
    })
    expect(wrapped).toEqual({
      command: '/usr/bin/prlimit',
      args: [
        '--core=0:0',
        `--data=${256 * MiB}:${256 * MiB}`,
        `--as=${256 * MiB + GiB2}:${256 * MiB + GiB2}`,
        '--nproc=64:64',
        '--nofile=256:256',
        `--fsize=${64 * MiB}:${64 * MiB}`,
        '--cpu=5:6',
        '--',
        '/usr/bin/python3',
        '-c',
        'pass',
      ],
    })
  })

  test('rejects a limit that is not a positive integer, naming the field', () => {
    expect(() => validateSandboxLimits(limits({ maxOpenFiles: 0 }))).toThrow(
      /limits\.maxOpenFiles must be an integer/,
    )
    expect(() => validateSandboxLimits(limits({ memoryBytes: 1.5 }))).toThrow(/limits\.memoryBytes/)
    expect(() => validateSandboxLimits(limits({ cpuSeconds: Number.POSITIVE_INFINITY }))).not.toThrow()
  })
})

describe.skipIf(!probe.available || !existsSync('/usr/bin/prlimit'))('limits inside the sandbox', () => {
  let cgroup: WorkerCgroup | null = null
  afterEach(async () => {
    await cgroup?.dispose()
    cgroup = null
  })

  test('a memory bomb gets MemoryError and the host is unaffected', async () => {
    const result = await runSandboxed(
      bwrap,
      `import json
out = {}
try:
    b = bytearray(2 << 30)
    out['bytearray'] = 'allocated'
except MemoryError:
    out['bytearray'] = 'MemoryError'
chunks = []
try:
    for _ in range(64):
        chunks.append(bytearray(16 << 20))
    out['growing'] = 'allocated'
except MemoryError:
    out['growing'] = 'MemoryError after %d MiB' % (16 * len(chunks))
del chunks
print(json.dumps(out))`,
      { limits: limits({ memoryBytes: 256 * MiB }) },
    )
    expect(result.json).toMatchObject({
      bytearray: 'MemoryError',
      growing: expect.stringMatching(/^MemoryError after/),
    })
  })

  test('a fork bomb is contained by the process limit', async (context) => {
    cgroup = createWorkerCgroup({ memoryBytes: 512 * MiB, maxProcesses: 16 })
    if (!cgroup && process.getuid?.() === 0) {
      // RLIMIT_NPROC does not bind real root (the sandbox's uid maps to it), so nothing would stop it.
      context.skip(
        'no writable cgroup and the host runs as root: only a pids cgroup can contain a fork bomb here',
      )
    }
    const result = await runSandboxed(
      bwrap,
      `import json, os
r, w = os.pipe()
children = 0
error = None
for _ in range(200):
    try:
        pid = os.fork()
    except OSError as e:
        error = e.strerror
        break
    if pid == 0:
        os.read(r, 1)  # wait until the parent exits (EOF), then leave
        os._exit(0)
    children += 1
print(json.dumps({'children': children, 'error': error}))`,
      { limits: limits({ maxProcesses: 16 }), ...(cgroup ? { cgroup } : {}) },
    )
    const seen = result.json as { children: number; error: string | null }
    expect(seen.error).toBe('Resource temporarily unavailable')
    expect(seen.children).toBeGreaterThan(0)
    expect(seen.children).toBeLessThan(16)
    if (cgroup) expect(cgroup.pidsEvents().max).toBeGreaterThan(0)
  })

  test('a file larger than the file-size limit fails with EFBIG, and /tmp is capped by its size', async () => {
    const result = await runSandboxed(
      bwrap,
      `${ATTEMPT}
print(json.dumps({'fsize': attempt(lambda: open('/tmp/big', 'wb').write(b'x' * (2 << 20))),
  'small': attempt(lambda: open('/tmp/small', 'wb').write(b'x' * (512 << 10))),
  'tmpfs': attempt(lambda: [open('/tmp/part%d' % i, 'wb').write(b'x' * ((1 << 20) - 1)) for i in range(8)])}))`,
      { limits: limits({ maxFileSizeBytes: MiB }), tmpSizeBytes: 4 * MiB },
    )
    expect(result.json).toEqual({ fsize: 'EFBIG', small: 'ok', tmpfs: 'ENOSPC' })
  })

  test('opening more files than the limit fails with EMFILE', async () => {
    const result = await runSandboxed(
      bwrap,
      `${ATTEMPT}
files = []
def open_many():
    for _ in range(1000):
        files.append(open('/dev/null'))
print(json.dumps({'open': attempt(open_many), 'count': len(files)}))`,
      { limits: limits({ maxOpenFiles: 32 }) },
    )
    const seen = result.json as { open: string; count: number }
    expect(seen.open).toBe('EMFILE')
    expect(seen.count).toBeLessThan(32)
  })

  test('a busy loop is killed at the CPU-seconds limit', async () => {
    const started = performance.now()
    const result = await runSandboxed(bwrap, 'while True: pass', { limits: limits({ cpuSeconds: 1 }) })
    // bwrap reports a signal death of its command as 128 + signal: SIGKILL (9) or SIGXCPU (24).
    expect([128 + 9, 128 + 24]).toContain(result.exitCode)
    expect(performance.now() - started).toBeLessThan(5_000)
  })
})

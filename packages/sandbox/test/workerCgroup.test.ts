import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import type { Readable, Writable } from 'node:stream'
import { afterAll, describe, expect, test } from 'vitest'
import { createWorkerCgroup, removeStaleWorkerCgroups } from '../src/index.js'

const dir = mkdtempSync(join(tmpdir(), 'capsule-cgroup-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const MiB = 1024 * 1024

describe('createWorkerCgroup', () => {
  test('creates a child of a delegated v2 parent with memory.max, no swap and pids.max', () => {
    const parent = join(dir, 'delegated')
    mkdirSync(parent)
    writeFileSync(join(parent, 'cgroup.subtree_control'), 'cpu memory pids\n')
    const cgroup = createWorkerCgroup({ memoryBytes: 256 * MiB, maxProcesses: 32 }, { parent })
    expect(cgroup).not.toBeNull()
    expect(cgroup!.version).toBe(2)
    expect(cgroup!.controllers).toEqual(['memory', 'pids'])
    expect(readFileSync(join(cgroup!.path, 'memory.max'), 'utf8')).toBe(String(256 * MiB))
    expect(readFileSync(join(cgroup!.path, 'memory.swap.max'), 'utf8')).toBe('0')
    expect(readFileSync(join(cgroup!.path, 'pids.max'), 'utf8')).toBe('32')
    writeFileSync(join(cgroup!.path, 'memory.events'), 'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n')
    expect(cgroup!.memoryEvents()).toEqual({ oomKill: 1 })
  })

  test('returns null when no hierarchy is writable or delegated', () => {
    const parent = join(dir, 'not-delegated')
    mkdirSync(parent)
    writeFileSync(join(parent, 'cgroup.subtree_control'), '')
    expect(
      createWorkerCgroup({ memoryBytes: MiB, maxProcesses: 8 }, { parent, mountinfo: '', selfCgroup: '' }),
    ).toBeNull()
    expect(
      createWorkerCgroup({ memoryBytes: MiB, maxProcesses: 8 }, { mountinfo: '', selfCgroup: '' }),
    ).toBeNull()
  })

  test('falls back to the v1 pids hierarchy, pids only, when that is what the host has', () => {
    const pidsRoot = join(dir, 'v1-pids')
    mkdirSync(join(pidsRoot, 'workers'), { recursive: true })
    const cgroup = createWorkerCgroup(
      { memoryBytes: MiB, maxProcesses: 8 },
      {
        mountinfo: `32 31 0:29 / ${pidsRoot} rw,relatime - cgroup cgroup rw,pids\n`,
        selfCgroup: '8:pids:/workers\n0::/\n',
      },
    )
    expect(cgroup).toMatchObject({ version: 1, controllers: ['pids'] })
    expect(cgroup!.path.startsWith(join(pidsRoot, 'workers', 'capsule-'))).toBe(true)
    expect(readFileSync(join(cgroup!.path, 'pids.max'), 'utf8')).toBe('8')
    expect(cgroup!.memoryEvents()).toBeNull()
  })

  test('on this machine, admits a gated command before it runs, its children too, and removes the cgroup on dispose', async (context) => {
    const cgroup = createWorkerCgroup({ memoryBytes: 256 * MiB, maxProcesses: 16 })
    if (!cgroup) return context.skip('no writable cgroup on this machine')
    try {
      // The gate descriptor is closed before the command runs: /proc/self/fd/3 must not exist in it.
      const wrapped = cgroup.wrapCommand(
        {
          command: '/bin/sh',
          args: [
            '-c',
            'cat /proc/self/cgroup; sh -c "cat /proc/self/cgroup"; [ -e /proc/self/fd/3 ] || echo gate-closed',
          ],
        },
        3,
      )
      const { child, output } = spawnCollecting(wrapped, 'pipe')
      expect(cgroup.admit(child.pid, child.stdio[3] as Writable)).toBeUndefined()
      const { text, code } = await output
      expect(code).toBe(0)
      const lines = text.trim().split('\n')
      expect(lines.filter((line) => line.includes(basename(cgroup.path))).length).toBe(2)
      expect(lines.at(-1)).toBe('gate-closed')
    } finally {
      await cgroup.dispose()
    }
    expect(existsSync(cgroup.path)).toBe(false)
    await cgroup.dispose()
  })

  test('a gated command whose admission fails never runs its command and exits 125', async () => {
    const parent = join(dir, 'gate-fails')
    mkdirSync(parent)
    writeFileSync(join(parent, 'cgroup.subtree_control'), 'memory pids\n')
    const cgroup = createWorkerCgroup({ memoryBytes: MiB, maxProcesses: 8 }, { parent })!
    // A plain directory, not a cgroup: cgroup.procs cannot be written there.
    rmSync(cgroup.path, { recursive: true })
    const wrapped = cgroup.wrapCommand({ command: '/bin/echo', args: ['ran'] }, 3)
    const { child, output } = spawnCollecting(wrapped, 'pipe')
    expect(cgroup.admit(child.pid, child.stdio[3] as Writable)).toBeInstanceOf(Error)
    const { text, code, stderr } = await output
    expect(code).toBe(125)
    expect(text).toBe('')
    expect(stderr).toMatch(/did not admit/)
  })
})

describe('stale worker cgroups', () => {
  // A pid that existed and is gone: a crashed host's.
  async function deadPid(): Promise<number> {
    const child = spawn('/bin/true')
    await once(child, 'exit')
    return child.pid!
  }

  test('are removed for a host that is gone, never for a live one, when a cgroup is next created there', async () => {
    const parent = join(dir, 'stale')
    mkdirSync(parent)
    writeFileSync(join(parent, 'cgroup.subtree_control'), 'memory pids\n')
    const dead = join(parent, `capsule-${await deadPid()}-0123abcd`)
    const live = join(parent, `capsule-${process.ppid}-89abcdef`)
    const own = join(parent, `capsule-${process.pid}-00000000`)
    const unrelated = join(parent, 'capsule-web')
    for (const path of [dead, live, own, unrelated]) mkdirSync(path)
    const cgroup = createWorkerCgroup({ memoryBytes: MiB, maxProcesses: 8 }, { parent })!
    expect(existsSync(dead)).toBe(false)
    for (const path of [live, own, unrelated, cgroup.path]) expect(existsSync(path)).toBe(true)
  })

  test.runIf(process.getuid?.() === 0 && existsSync('/sys/fs/cgroup/pids/cgroup.procs'))(
    'on this machine, a crashed host’s cgroup is emptied (its process killed) and removed',
    async () => {
      const parent = '/sys/fs/cgroup/pids'
      const stale = join(parent, `capsule-${await deadPid()}-${Date.now().toString(16).slice(-8)}`)
      mkdirSync(stale)
      const orphan = spawn('/bin/sleep', ['300'], { stdio: 'ignore' })
      try {
        writeFileSync(join(stale, 'cgroup.procs'), String(orphan.pid))
        const exited = once(orphan, 'exit')
        const removed = await removeStaleWorkerCgroups(parent)
        expect(removed).toContain(stale)
        expect(existsSync(stale)).toBe(false)
        expect((await exited)[1]).toBe('SIGKILL')
      } finally {
        orphan.kill('SIGKILL')
        if (existsSync(stale)) rmdirSync(stale)
      }
    },
  )
})

function spawnCollecting(
  command: { command: string; args: string[] },
  gate: 'pipe',
): { child: ChildProcess; output: Promise<{ text: string; stderr: string; code: number | null }> } {
  const child = spawn(command.command, command.args, { stdio: ['ignore', 'pipe', 'pipe', gate] })
  let text = ''
  let stderr = ''
  ;(child.stdout as Readable).setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk
  })
  ;(child.stderr as Readable).setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk
  })
  const output = new Promise<{ text: string; stderr: string; code: number | null }>((resolve, reject) => {
    child.on('error', reject).on('close', (code) => resolve({ text, stderr, code }))
  })
  return { child, output }
}

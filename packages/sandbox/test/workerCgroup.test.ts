import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { createWorkerCgroup } from '../src/index.js'

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

  test('on this machine, puts a wrapped command and its children in the cgroup and removes it on dispose', async (context) => {
    const cgroup = createWorkerCgroup({ memoryBytes: 256 * MiB, maxProcesses: 16 })
    if (!cgroup) return context.skip('no writable cgroup on this machine')
    try {
      const wrapped = cgroup.wrapCommand({ command: '/bin/sh', args: ['-c', 'cat /proc/self/cgroup'] })
      const output = await new Promise<string>((resolve, reject) => {
        const child = spawn(wrapped.command, wrapped.args, { stdio: ['ignore', 'pipe', 'inherit'] })
        let text = ''
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk
        })
        child.on('error', reject).on('close', () => resolve(text))
      })
      expect(output).toContain(basename(cgroup.path))
    } finally {
      await cgroup.dispose()
    }
    expect(existsSync(cgroup.path)).toBe(false)
    await cgroup.dispose()
  })
})

import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { SandboxUidPool, unreachablePaths } from '../src/index.js'

const dir = mkdtempSync(join(tmpdir(), 'capsule-uid-pool-'))
// Others may enter it: unreachablePaths below checks paths inside it as another user.
chmodSync(dir, 0o755)
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let count = 0
/** A fresh, private lease directory: tests never touch /run. */
const leaseDir = () => {
  const path = join(dir, `leases-${count++}`)
  mkdirSync(path, { mode: 0o700 })
  return path
}
const root = process.getuid?.() === 0
/** The start time /proc gives a live process, as a lease names its holder. */
const startOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
}

describe('SandboxUidPool', () => {
  test.each([
    [{ uids: { first: 0, count: 10 } }, /uids\.first must be an integer from 1/],
    [{ uids: { first: 2147483600, count: 100 } }, /uids\.count must be an integer ≥ 1 that keeps the block/],
    [{ uids: { first: 5000, count: 0 } }, /uids\.count/],
    [{ gid: 0 }, /gid must be an integer from 1 .*0 is root's group/],
    [{ leaseDir: 'relative' }, /leaseDir must be absolute/],
  ])('refuses %o with INVALID_OPTIONS', (options, message) => {
    expect(() => new SandboxUidPool(options)).toThrow(message)
    expect(() => new SandboxUidPool(options)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }))
  })

  test('leases distinct uids from its block with its gid, and a released uid can be leased again', () => {
    const pool = new SandboxUidPool({ uids: { first: 70_000, count: 3 }, gid: 4242, leaseDir: leaseDir() })
    const leases = [pool.lease(), pool.lease(), pool.lease()]
    expect(leases.map((l) => l.uid).sort()).toEqual([70_000, 70_001, 70_002])
    expect(leases.every((l) => l.gid === 4242)).toBe(true)
    expect(() => pool.lease()).toThrow(expect.objectContaining({ code: 'SANDBOX_UNAVAILABLE' }))
    const freed = leases[1]!
    freed.release()
    freed.release()
    expect(pool.lease().uid).toBe(freed.uid)
  })

  test('two pools on one lease directory (two hosts) never hand out the same uid', () => {
    const shared = leaseDir()
    const a = new SandboxUidPool({ uids: { first: 71_000, count: 2 }, leaseDir: shared })
    const b = new SandboxUidPool({ uids: { first: 71_000, count: 2 }, leaseDir: shared })
    const first = a.lease()
    const second = b.lease()
    expect(second.uid).not.toBe(first.uid)
    expect(() => a.lease()).toThrow(/all 2 sandbox uids from 71000 are leased/)
    expect(() => b.lease()).toThrow(
      expect.objectContaining({ details: expect.objectContaining({ reason: 'uids-exhausted' }) }),
    )
  })

  test('respects a lease held by another live process and reclaims one whose holder is gone', async () => {
    const shared = leaseDir()
    const gone = spawn('/bin/true')
    await once(gone, 'exit')
    // The parent (a live process) holds 72000; a process that has exited held 72001.
    writeFileSync(join(shared, `72000-${process.ppid}-${startOf(process.ppid)}`), '')
    writeFileSync(join(shared, `72001-${gone.pid}-12345`), '')
    const pool = new SandboxUidPool({ uids: { first: 72_000, count: 2 }, leaseDir: shared })
    expect(pool.lease().uid).toBe(72_001)
    expect(() => pool.lease()).toThrow(/leased by live processes/)
    expect(readdirSync(shared).some((name) => name.startsWith(`72001-${gone.pid}-`))).toBe(false)
  })

  test('refuses a lease directory others could write to', () => {
    const open = leaseDir()
    chmodSync(open, 0o777)
    const pool = new SandboxUidPool({ uids: { first: 73_000, count: 1 }, leaseDir: open })
    expect(() => pool.lease()).toThrow(/not a directory only this user can write/)
  })

  test('names the fix when the block is not mapped in this user namespace', () => {
    // In the initial user namespace every id is mapped, so a block past the mapped range is needed:
    // none exists here, and the check passes.
    const pool = new SandboxUidPool({ uids: { first: 74_000, count: 1 }, leaseDir: leaseDir() })
    const map = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/).map(Number)
    if (map[0] === 0 && map[2] === 4294967295) expect(() => pool.lease().release()).not.toThrow()
    else expect(() => pool.lease()).toThrow(/not mapped in this process's user namespace/)
  })
})

describe.runIf(root)('unreachablePaths (as root, checked as another user)', () => {
  test('answers with the kernel’s own checks for read, write and execute', () => {
    const open = mkdtempSync(join(dir, 'open-'))
    chmodSync(open, 0o755)
    const closed = mkdtempSync(join(dir, 'closed-'))
    writeFileSync(join(open, 'file'), 'x')
    const identity = { uid: 75_000, gid: 75_000 }
    const missing = unreachablePaths(identity, [
      { path: open, access: 'read' },
      { path: join(open, 'file'), access: 'read' },
      { path: open, access: 'write' },
      { path: closed, access: 'read' },
      { path: '/usr/bin/true', access: 'execute' },
      { path: join(open, 'file'), access: 'execute' },
      { path: join(dir, 'nonexistent'), access: 'read' },
    ])
    expect(missing.map((need) => `${need.access} ${need.path.replace(dir, '')}`)).toEqual([
      `write ${open.replace(dir, '')}`,
      `read ${closed.replace(dir, '')}`,
      `execute ${join(open, 'file').replace(dir, '')}`,
      'read /nonexistent',
    ])
  })
})

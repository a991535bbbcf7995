import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { type AuditEntry, Capsule } from '@capsule/core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { fsProvider } from '../src/index.js'

// The files capability as Python code sees it, through a real session (the "done when").
describe('files from Python', () => {
  let base: string
  let workspace: string
  const audit: AuditEntry[] = []
  const capsules: Capsule[] = []

  beforeAll(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'capsule-fs-py-'))
    workspace = path.join(base, 'workspace')
    await mkdir(workspace)
    await writeFile(path.join(base, 'secret.txt'), 'outside the root')
    await writeFile(path.join(workspace, '.env'), 'TOKEN=hunter2')
    await symlink(path.join(base, 'secret.txt'), path.join(workspace, 'link-out'))
  })
  afterAll(async () => {
    await Promise.all(capsules.map((capsule) => capsule.close()))
    await rm(base, { recursive: true, force: true })
  })

  const session = async (level: 'standard' | 'restricted') => {
    const capsule = new Capsule({
      level,
      sandbox: 'none',
      providers: [fsProvider({ roots: [{ path: workspace, write: true }] })],
      onAudit: (entry) => audit.push(entry),
    })
    capsules.push(capsule)
    return capsule.session()
  }

  test('a cell at standard reads, writes, lists and deletes in the workspace', async () => {
    const py = await session('standard')
    const result = await py.run(
      [
        'write_file("notes.txt", "hello")',
        'write_file("notes.txt", " world", append=True)',
        'make_dir("sub")',
        'write_file("sub/data.bin", b"\\x00\\x01")',
        'listing = sorted(e["name"] for e in list_dir()["entries"])',
        'text = read_file("notes.txt")',
        'raw = read_file("sub/data.bin", encoding=None)',
        'delete_path("sub/data.bin")',
        '(listing, text, raw, file_info("sub")["type"], [e["name"] for e in list_dir("sub")["entries"]])',
      ].join('\n'),
    )
    expect(result.error).toBeNull()
    expect(result.value?.['text/plain']).toBe(
      "(['link-out', 'notes.txt', 'sub'], 'hello world', b'\\x00\\x01', 'dir', [])",
    )
    expect(await readFile(path.join(workspace, 'notes.txt'), 'utf8')).toBe('hello world')
  })

  test('a file near the default read cap comes through whole, whatever the codec', async () => {
    await writeFile(path.join(workspace, 'big.bin'), Buffer.alloc(9 * 1024 * 1024, 7))
    const py = await session('standard')
    const result = await py.run('data = read_file("big.bin", encoding=None)\n(len(data), data[:2])')
    expect(result.value?.['text/plain']).toBe(`(${9 * 1024 * 1024}, b'\\x07\\x07')`)
    await rm(path.join(workspace, 'big.bin'))
  })

  test('the same cell at restricted gets NameError on write_file', async () => {
    const py = await session('restricted')
    const result = await py.run('write_file("x.txt", "no")')
    expect(result.error?.ename).toBe('NameError')
    expect((await py.run('read_file("notes.txt")')).value?.['text/plain']).toBe("'hello world'")
  })

  test('every escape attempt raises CapabilityDenied and is audited', async () => {
    const py = await session('standard')
    const attempts = ['../secret.txt', '/etc/passwd', 'link-out', '.env', 'sub/../../secret.txt']
    const result = await py.run(
      [
        'from capsule import CapabilityDenied',
        'outcomes = []',
        `for p in ${JSON.stringify(attempts)}:`,
        '    try:',
        '        read_file(p)',
        '        outcomes.append("read")',
        '    except CapabilityDenied:',
        '        outcomes.append("denied")',
        'try:',
        '    write_file("../planted.txt", "x")',
        'except CapabilityDenied:',
        '    outcomes.append("denied")',
        'outcomes',
      ].join('\n'),
    )
    expect(result.value?.['text/plain']).toBe(
      `[${Array(attempts.length + 1)
        .fill("'denied'")
        .join(', ')}]`,
    )
    const denied = audit.filter((entry) => entry.type === 'outcome' && entry.errorCode === 'DENIED')
    expect(denied.length).toBeGreaterThanOrEqual(attempts.length + 1)
    await expect(readFile(path.join(base, 'planted.txt'))).rejects.toThrow()
  })
})

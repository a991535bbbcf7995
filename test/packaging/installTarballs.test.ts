// The packages as a registry would serve them: `pnpm pack` every publishable package, install the
// tarballs with npm into a fresh project outside the repository, and run a cell with a provider there,
// sandboxed and not. Nothing from the workspace leaks in: no workspace: or catalog: ranges, no sources
// resolved through the monorepo.
import { execFile, execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

const REPO = resolve(import.meta.dirname, '../..')
const PNPM = ['--yes', 'pnpm@10.34.8']
const PACKAGE_DIRS = [
  ...readdirSync(join(REPO, 'packages')).map((name) => join(REPO, 'packages', name)),
  join(REPO, 'python-worker'),
  join(REPO, 'contract-tests'),
].filter((dir) => {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).private !== true
  } catch {
    return false
  }
})

// Child processes run asynchronously: a test worker whose event loop is blocked for minutes misses
// vitest's own RPC deadlines.
const run = promisify(execFile)

/** Runs a command, failing with what it printed. */
async function exec(
  command: string,
  args: string[],
  options: { cwd?: string; timeout?: number } = {},
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(command, args, { ...options, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(
      `${command} ${args.join(' ')} failed: ${failed.message}\n${failed.stdout ?? ''}\n${failed.stderr ?? ''}`,
    )
  }
}

/** Runs pnpm, failing with what it printed. */
async function pnpm(cwd: string, args: string[]): Promise<void> {
  await exec('npx', [...PNPM, ...args], { cwd })
}

let work: string
let tarballs: string[] = []

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'capsule-pack-'))
  // A sandboxed worker runs as an unprivileged uid when the host is root: it must reach the
  // installed worker sources, as it would in any project directory others may read.
  chmodSync(work, 0o755)
  // Dependencies first: each package's prepack builds it against the others' dist.
  await pnpm(REPO, ['build'])
  for (const dir of PACKAGE_DIRS) await pnpm(dir, ['pack', '--pack-destination', work])
  tarballs = readdirSync(work)
    .filter((name) => name.endsWith('.tgz'))
    .map((name) => join(work, name))
}, 300_000)

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

describe('the packed packages', () => {
  test('every publishable package packs with built dist and real version ranges', () => {
    expect(tarballs).toHaveLength(PACKAGE_DIRS.length)
    for (const tarball of tarballs) {
      const listing = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' })
      const manifest = execFileSync('tar', ['xzf', tarball, '-O', 'package/package.json'], {
        encoding: 'utf8',
      })
      expect(manifest, tarball).not.toMatch(/"(workspace|catalog):/)
      const pkg = JSON.parse(manifest) as { name: string; main?: string; exports?: Record<string, unknown> }
      if (pkg.name !== '@capsule/python-worker') expect(listing, tarball).toContain('package/dist/index.js')
      else expect(listing).toContain('package/capsule_worker/__main__.py')
    }
  })

  test('a fresh npm project outside the repo installs them and runs a cell with a provider, sandboxed and not', async () => {
    const project = join(work, 'app')
    execFileSync('mkdir', ['-p', join(project, 'workspace')])
    writeFileSync(join(project, 'workspace', 'hello.txt'), 'hello from the workspace')
    writeFileSync(
      join(project, 'package.json'),
      JSON.stringify({ name: 'app', private: true, type: 'module' }),
    )
    await exec('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], {
      cwd: project,
      timeout: 240_000,
    })
    writeFileSync(
      join(project, 'main.mjs'),
      [
        "import { Capsule, probeSandbox } from '@capsule/core'",
        "import { fsProvider } from '@capsule/providers-fs'",
        "const modes = ['none', ...((await probeSandbox()).available ? ['bwrap'] : [])]",
        'for (const sandbox of modes) {',
        "  const capsule = new Capsule({ level: 'standard', sandbox, python: '/usr/bin/python3',",
        "    providers: [fsProvider({ roots: [{ path: './workspace', write: false }] })] })",
        '  const session = await capsule.session()',
        '  const result = await session.run(\'read_file("hello.txt").upper()\')',
        "  console.log(sandbox, session.info().sandbox, result.value['text/plain'])",
        '  await capsule.close()',
        '}',
      ].join('\n'),
    )
    const cell = await exec(process.execPath, ['main.mjs'], { cwd: project, timeout: 60_000 })
    expect(cell.stderr).toBe('')
    expect(cell.stdout).toContain("none none 'HELLO FROM THE WORKSPACE'")
    if (cell.stdout.includes('bwrap')) expect(cell.stdout).toContain("bwrap bwrap 'HELLO FROM THE WORKSPACE'")
  }, 300_000)
})

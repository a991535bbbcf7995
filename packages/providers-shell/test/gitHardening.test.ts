import { execFileSync } from 'node:child_process'
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, test } from 'vitest'
import { shellProvider } from '../src/index.js'
import { sandboxOwned, tempDir } from './tempDir.js'
import { bwrapAvailable, callRun, NO_BWRAP } from './testContext.js'

/**
 * A repository whose own configuration tries every way git has to start a program: fsmonitor, a
 * hooks path and default hooks, aliases (also one shadowing a builtin), a pager, a clean filter and a
 * textconv driver named by .gitattributes, an editor and gpg with showSignature. Each would touch a
 * marker file inside `markers/`.
 */
function hostileRepo(): { root: string; markers: string } {
  const root = tempDir('shell-git-')
  const markers = path.join(root, 'markers')
  mkdirSync(markers)
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: root,
      env: { PATH: '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', HOME: root },
    })
  git('init', '-q', '.')
  git('config', 'user.name', 'Test')
  git('config', 'user.email', 'test@example.org')
  writeFileSync(path.join(root, 'a.txt'), 'one\n')
  writeFileSync(path.join(root, '.gitattributes'), '*.txt filter=evil diff=evil\n')
  git('add', 'a.txt', '.gitattributes')
  git('commit', '-q', '-m', 'init')
  const touch = (name: string) => `touch ${markers}/${name}`
  const hooks = path.join(root, 'hooks')
  mkdirSync(hooks)
  for (const dir of [hooks, path.join(root, '.git', 'hooks')]) {
    for (const hook of ['pre-commit', 'post-commit', 'commit-msg', 'post-checkout', 'post-index-change']) {
      writeFileSync(path.join(dir, hook), `#!/bin/sh\n${touch(`hook-${hook}`)}\n`)
      chmodSync(path.join(dir, hook), 0o755)
    }
  }
  const set = (key: string, value: string) => git('config', key, value)
  set('core.fsmonitor', `${touch('fsmonitor')}; false`)
  set('core.hooksPath', hooks)
  set('core.pager', `${touch('pager')}; cat`)
  set('pager.log', `${touch('pager-log')}; cat`)
  set('core.editor', touch('editor'))
  set('alias.st', `!${touch('alias-st')}`)
  set('alias.status', `!${touch('alias-status')}`)
  set('filter.evil.clean', `sh -c '${touch('filter-clean')}; cat'`)
  set('filter.evil.smudge', `sh -c '${touch('filter-smudge')}; cat'`)
  set('diff.evil.textconv', `sh -c '${touch('textconv')}; cat "$1"' --`)
  set('gpg.program', touch('gpg'))
  set('log.showSignature', 'true')
  // A change git must look at through the clean filter, with a stale stat so it has to.
  writeFileSync(path.join(root, 'a.txt'), 'one\ntwo\n')
  return { root, markers }
}

describe('git run with a hostile repository configuration', () => {
  test('the hostile configuration really starts programs under plain git (control)', () => {
    const { root, markers } = hostileRepo()
    execFileSync('git', ['status'], {
      cwd: root,
      env: { PATH: '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', HOME: root },
    })
    execFileSync('git', ['diff'], {
      cwd: root,
      env: { PATH: '/usr/bin:/bin', GIT_CONFIG_NOSYSTEM: '1', HOME: root },
    })
    expect(readdirSync(markers).sort()).toEqual(
      expect.arrayContaining(['filter-clean', 'fsmonitor', 'textconv']),
    )
  })

  if (!bwrapAvailable)
    test.skip(`starts none of them through shell.run (sandbox bwrap) — ${NO_BWRAP}`, () => {})

  test.each(bwrapAvailable ? (['none', 'bwrap'] as const) : (['none'] as const))(
    'starts none of them through shell.run (sandbox %s)',
    async (sandbox) => {
      const { root, markers } = hostileRepo()
      // As root, sandboxed commands act as the owner of their writable root (git checks it owns the repository).
      if (sandbox === 'bwrap') sandboxOwned(root)
      const provider = shellProvider({
        commands: {
          git: {
            subcommands: ['status', 'diff', 'log', 'show', 'blame', 'grep', 'add', 'commit', 'checkout'],
          },
        },
        roots: [{ path: root, write: true }],
        sandbox,
      })
      const calls = [
        ['git', 'status'],
        ['git', 'diff'],
        ['git', 'diff', '--text'],
        ['git', 'log', '-p'],
        ['git', 'show'],
        ['git', 'blame', 'a.txt'],
        ['git', 'grep', 'one'],
        ['git', 'add', 'a.txt'],
        ['git', 'commit', '-m', 'second'],
        ['git', 'checkout', 'HEAD~1', '--', 'a.txt'],
      ]
      for (const argv of calls) {
        const result = await callRun(provider, { argv })
        expect(result.returncode, `${argv.join(' ')}: ${result.stderr}`).toBe(0)
      }
      expect((await callRun(provider, { argv: ['git', 'log', '--format=%s'] })).stdout).toBe('second\ninit\n')
      await expect(callRun(provider, { argv: ['git', 'st'] })).rejects.toMatchObject({ code: 'DENIED' })
      expect(readdirSync(markers)).toEqual([])
    },
  )

  test('refuses a repository whose configuration moves the work tree', async () => {
    const { root } = hostileRepo()
    execFileSync('git', ['config', 'core.worktree', '/'], { cwd: root })
    const provider = shellProvider({ commands: { git: {} }, roots: [{ path: root }], sandbox: 'none' })
    await expect(callRun(provider, { argv: ['git', 'status'] })).rejects.toMatchObject({
      code: 'DENIED',
      message: /core.worktree/,
    })
  })

  test('does not find a repository above the roots', async () => {
    const { root } = hostileRepo()
    const inner = path.join(root, 'inner')
    mkdirSync(inner)
    const provider = shellProvider({ commands: { git: {} }, roots: [{ path: inner }], sandbox: 'none' })
    const result = await callRun(provider, { argv: ['git', 'status'] })
    expect(result.returncode).toBe(128)
    expect(result.stderr).toMatch(/not a git repository/)
  })
})

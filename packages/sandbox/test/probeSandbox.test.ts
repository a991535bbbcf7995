import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { probeSandbox, sandboxUnavailableError } from '../src/index.js'

const dir = mkdtempSync(join(tmpdir(), 'capsule-probe-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A fake bwrap: answers --version like `version`, then fails the way a real one does. */
function fakeBwrap(name: string, version: string, failure: string): string {
  const path = join(dir, name)
  writeFileSync(
    path,
    `#!/bin/sh\nif [ "$1" = --version ]; then echo "${version}"; exit 0; fi\necho "${failure}" >&2\nexit 1\n`,
  )
  chmodSync(path, 0o755)
  return path
}

describe('probeSandbox', () => {
  test.runIf(existsSync('/usr/bin/bwrap'))(
    'reports the installed bubblewrap as available with its version',
    async () => {
      const probe = await probeSandbox('/usr/bin/bwrap')
      expect(probe).toMatchObject({ available: true, bwrapPath: '/usr/bin/bwrap' })
      expect((probe as { version: string }).version).toMatch(/^\d+\.\d+\.\d+$/)
    },
  )

  test('reports a missing binary with an install hint and the opt-out', async () => {
    const probe = await probeSandbox(join(dir, 'no-such-bwrap'))
    expect(probe).toMatchObject({ available: false, reason: 'not-found' })
    if (probe.available) return
    expect(probe.hint).toMatch(/apt-get install bubblewrap/)
    expect(probe.hint).toMatch(/sandbox: 'none'/)
    const error = sandboxUnavailableError(probe)
    expect(error.code).toBe('SANDBOX_UNAVAILABLE')
    expect(error.details).toMatchObject({ reason: 'not-found' })
  })

  test('reports blocked user namespaces with the AppArmor and sysctl fixes (Ubuntu’s real message)', async () => {
    const path = fakeBwrap(
      'bwrap-apparmor',
      'bubblewrap 0.9.0',
      'bwrap: setting up uid map: Permission denied',
    )
    const probe = await probeSandbox(path)
    expect(probe).toMatchObject({ available: false, reason: 'userns-blocked' })
    if (probe.available) return
    expect(probe.message).toMatch(/setting up uid map: Permission denied/)
    expect(probe.hint).toMatch(/kernel\.apparmor_restrict_unprivileged_userns=0/)
    expect(probe.hint).toMatch(/sandbox: 'none'/)
  })

  test('reports blocked user namespaces on kernels that disable them (Debian’s real message)', async () => {
    const path = fakeBwrap(
      'bwrap-sysctl',
      'bubblewrap 0.8.0',
      "bwrap: No permissions to create new namespace, likely because the kernel does not allow non-privileged user namespaces. On e.g. debian this can be enabled with 'sysctl kernel.unprivileged_userns_clone=1'.",
    )
    expect(await probeSandbox(path)).toMatchObject({ available: false, reason: 'userns-blocked' })
  })

  test('refuses a bubblewrap too old for --disable-userns', async () => {
    const path = fakeBwrap('bwrap-old', 'bubblewrap 0.6.1', 'unused')
    expect(await probeSandbox(path)).toMatchObject({ available: false, reason: 'too-old' })
  })

  test('reports a binary that is not bubblewrap', async () => {
    const path = fakeBwrap('not-bwrap', 'something else 1.0', 'unused')
    expect(await probeSandbox(path)).toMatchObject({ available: false, reason: 'failed' })
  })

  test('caches the answer per path', async () => {
    const path = join(dir, 'cached-bwrap')
    const first = await probeSandbox(path)
    fakeBwrap('cached-bwrap', 'bubblewrap 0.8.0', 'bwrap: setting up uid map: Permission denied')
    expect(await probeSandbox(path)).toBe(first)
  })
})

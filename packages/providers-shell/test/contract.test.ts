import { existsSync } from 'node:fs'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { runProviderContract } from '@capsule/contract-tests'
import type { ProviderDefinition } from '@capsule/provider-sdk'
import { expect } from 'vitest'
import { type ShellSandbox, shellProvider, shellSandboxInForce } from '../src/index.js'
import { sandboxOwned } from './tempDir.js'

// The shell provider against the shared provider contract, once per sandbox mode (bubblewrap only where
// it is installed). A temp dir holds `root/` (the one writable root) and `outside/` (a secret next to
// it, which the denied calls aim at).
//
// Three settings serve the contract rather than a host: `envAllow` lets the secret call pass a TOKEN,
// `maxConcurrentPerSession` is raised because the contract's fifty concurrent calls share one session id
// (the default, 4, refuses the fifth), and `timeoutMs` is small because shell.run declares its own call
// timeout (timeoutMs + 5 s), which replaces the contract's small callTimeoutMs: the timed-out call of
// e2e.error-exceptions is therefore the provider's own TIMEOUT. It is not tighter than 8 s because fifty
// concurrent bwrap spawns each hold the event loop for tens of milliseconds on a loaded 2-core machine.
// The slow call (`sleep 30`) outlasts it unless aborted.

const TIMEOUT_MS = 8_000
const MAX_ARG_BYTES = 4_096

function contractFor(sandbox: ShellSandbox): void {
  let base = ''
  let root = ''
  let outside = ''
  let provider: ProviderDefinition | undefined

  /** Every path under the temp dir with its size, and the secret: what a denied call could touch. */
  async function snapshot(): Promise<unknown> {
    const entries = await fs.readdir(base, { recursive: true, withFileTypes: true })
    const listing = await Promise.all(
      entries.map(async (entry) => {
        const full = path.join(entry.parentPath, entry.name)
        const stats = await fs.lstat(full)
        return `${path.relative(base, full)} ${entry.isDirectory() ? 'dir' : stats.size}`
      }),
    )
    return { listing: listing.sort(), secret: await fs.readFile(path.join(outside, 'secret.txt'), 'utf8') }
  }

  runProviderContract(
    () => {
      provider = shellProvider({
        commands: { printf: {}, ls: {}, sleep: {} },
        roots: [{ path: root, write: true }],
        sandbox,
        timeoutMs: TIMEOUT_MS,
        maxArgBytes: MAX_ARG_BYTES,
        maxConcurrentPerSession: 64,
        envAllow: ['TOKEN'],
      })
      return provider
    },
    {
      setup: async () => {
        base = await fs.mkdtemp(path.join(os.tmpdir(), 'capsule-shell-contract-'))
        root = path.join(base, 'root')
        outside = path.join(base, 'outside')
        await fs.mkdir(root)
        await fs.mkdir(outside)
        await fs.writeFile(path.join(outside, 'secret.txt'), 'TOP SECRET')
        await fs.writeFile(path.join(root, 'hello.txt'), 'hello')
        // As root, sandboxed commands act as the owner of their writable root, which must be reachable.
        if (sandbox === 'bwrap') {
          await fs.chmod(base, 0o755)
          sandboxOwned(root)
        }
      },
      teardown: async () => {
        await provider?.dispose?.()
        if (base) await fs.rm(base, { recursive: true, force: true })
      },
      snapshot,
      capabilities: {
        run: {
          valid: { argv: ['printf', '%s|', 'a;b', '$(id)'] },
          invalid: { argv: 'ls hello.txt' },
          // `sh` is not allowlisted; were it run, it would write next to the secret.
          denied: () => ({ argv: ['sh', '-c', `echo pwned > ${outside}/pwned.txt`] }),
          slow: { argv: ['sleep', '30'] },
          // A credential in the command's environment: the audit redacts it, and no failure may quote it.
          secret: (token) => ({ argv: ['printf', 'x'], env: { TOKEN: token } }),
          errors: [
            { args: () => ({ argv: ['ls', outside] }), code: 'DENIED' },
            { args: { argv: ['ls', '-L', '.'] }, code: 'DENIED' },
            { args: () => ({ argv: ['ls'], cwd: outside }), code: 'DENIED' },
            { args: { argv: ['printf', 'x'], env: { SECRET_THING: '1' } }, code: 'DENIED' },
            { args: { argv: ['printf', 'a\0b'] }, code: 'INVALID_ARGUMENT' },
            { args: { argv: ['printf', 'x'.repeat(MAX_ARG_BYTES)] }, code: 'LIMIT_EXCEEDED' },
          ],
          check: (value) => {
            expect(value).toEqual({
              args: ['printf', '%s|', 'a;b', '$(id)'],
              returncode: 0,
              stdout: 'a;b|$(id)|',
              stderr: '',
              truncated: false,
            })
            expect(provider && shellSandboxInForce(provider)).toBe(sandbox)
          },
        },
      },
    },
    { title: `provider contract: shell (sandbox ${sandbox})` },
  )
}

contractFor('none')
if (existsSync('/usr/bin/bwrap')) contractFor('bwrap')

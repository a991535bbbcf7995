import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll } from 'vitest'

const created: string[] = []

// Registered when a test file imports this module: its temp directories go when the file's tests end.
afterAll(() => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A fresh directory under the OS temp dir, removed after the test file. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  created.push(dir)
  return dir
}

/**
 * The unprivileged user sandboxed commands act as in these tests when they run as root: a root host's
 * commands run as the owner of their writable roots, never as root (see shellSandboxUser.ts).
 */
export const SANDBOX_TEST_USER = { uid: 1879179264, gid: 1879179264 }

/**
 * Hands `dir` and everything in it to {@link SANDBOX_TEST_USER} and lets everyone enter it, when the tests
 * run as root, as a root host must for a sandboxed command's roots. Returns `dir`.
 */
export function sandboxOwned(dir: string): string {
  if (process.getuid?.() !== 0) return dir
  execFileSync('chown', ['-R', `${SANDBOX_TEST_USER.uid}:${SANDBOX_TEST_USER.gid}`, dir])
  chmodSync(dir, 0o755)
  return dir
}

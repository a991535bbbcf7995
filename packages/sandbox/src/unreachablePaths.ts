import { spawnSync } from 'node:child_process'
import type { SandboxIdentity } from './sandboxUidPool.js'

/** What a sandboxed identity must be able to do with one host path. */
export interface PathNeed {
  path: string
  /** `read`: read a file, list and enter a directory; `write`: also create files in it; `execute`: run it. */
  access: 'read' | 'write' | 'execute'
}

// The kernel's own checks (mode bits, ACLs, every directory on the way) through test(1), run as the
// identity. Prints the index of each need that fails.
const CHECK_SCRIPT = `i=0
while [ $# -gt 1 ]; do
  case $1 in
    read) test -r "$2" && { test ! -d "$2" || test -x "$2"; } ;;
    write) test -w "$2" && { test ! -d "$2" || test -x "$2"; } ;;
    *) test -x "$2" && test -f "$2" ;;
  esac || echo $i
  i=$((i + 1))
  shift 2
done`

const CHECK_TIMEOUT_MS = 5_000

/**
 * The needs `identity` cannot meet, decided by a /bin/sh started as that identity (no supplementary
 * groups), so the answer is the kernel's and not a guess from mode bits. A path that does not exist
 * counts as unreachable. Synchronous: one short-lived process, run once per configuration. Throws when
 * the shell cannot be started as that identity.
 */
export function unreachablePaths(identity: SandboxIdentity, needs: readonly PathNeed[]): PathNeed[] {
  if (needs.length === 0) return []
  const result = spawnSync(
    '/bin/sh',
    ['-c', CHECK_SCRIPT, 'capsule-check', ...needs.flatMap((n) => [n.access, n.path])],
    {
      uid: identity.uid,
      gid: identity.gid,
      cwd: '/',
      env: {},
      encoding: 'utf8',
      timeout: CHECK_TIMEOUT_MS,
    },
  )
  if (result.error) throw result.error
  if (result.status !== 0) {
    throw new Error(
      `the path check as uid ${identity.uid} failed (${result.status ?? result.signal}): ${result.stderr.trim()}`,
    )
  }
  return result.stdout
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => needs[Number(line)]!)
}

import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** An open, read-only file descriptor holding a seccomp program, ready to be a `spawn` stdio entry. */
export interface SeccompFd {
  /** The host-side descriptor: put it in `spawn`'s `stdio` array at the index bwrap's `--seccomp` names. */
  readonly fd: number
  /** Closes the host's copy. Call right after `spawn` returns: the child holds its own. Idempotent. */
  close(): void
}

/**
 * Opens a read-only descriptor positioned at the start of `program` (a file in a private temp dir,
 * unlinked at once, so nothing remains on disk and no other process can open it by name).
 * Node cannot create anonymous pipes or memfds, and a file needs no async writer racing bwrap's read.
 *
 * Wiring: `const s = openSeccompFd(buildSeccompFilter())`, pass `seccomp: { fd: 5 }` to
 * `buildSandboxCommand`, spawn with `stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', s.fd]`
 * (stdio index = fd number in bwrap), then `s.close()`. One descriptor serves one spawn: bwrap
 * reads it to the end, and the read offset is shared.
 */
export function openSeccompFd(program: Buffer): SeccompFd {
  const dir = mkdtempSync(join(tmpdir(), 'capsule-seccomp-'))
  const path = join(dir, 'filter.bpf')
  let fd: number
  try {
    writeFileSync(path, program, { mode: 0o600 })
    fd = openSync(path, 'r')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  let open = true
  return {
    fd,
    close() {
      if (!open) return
      open = false
      closeSync(fd)
    },
  }
}

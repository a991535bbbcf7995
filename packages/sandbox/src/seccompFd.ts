import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildSeccompFilter } from './seccompFilter.js'

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
  return wrapFd(fd)
}

/** One seccomp program for many spawns: each {@link SeccompSource.open} is a descriptor of its own. */
export interface SeccompSource {
  /** A fresh read-only descriptor at the start of the program, for one spawn (close it after). */
  open(): SeccompFd
  /** Closes the source; descriptors already opened stay valid. Idempotent. */
  close(): void
}

/**
 * Keeps `program` in one unlinked file (see {@link openSeccompFd}) and hands out descriptors by
 * reopening it through /proc/self/fd: one open(2) per spawn instead of a file written, opened and
 * removed, which matters when a shell provider starts fifty commands at once. Each descriptor has its
 * own read offset, so concurrent spawns do not steal each other's bytes.
 */
export function createSeccompSource(program: Buffer): SeccompSource {
  const master = openSeccompFd(program)
  let open = true
  return {
    open() {
      if (!open) throw new Error('the seccomp source is closed')
      return wrapFd(openSync(`/proc/self/fd/${master.fd}`, 'r'))
    },
    close() {
      if (!open) return
      open = false
      master.close()
    },
  }
}

let defaultSource: SeccompSource | undefined

/**
 * A descriptor of the default filter ({@link buildSeccompFilter} for this process's architecture) for
 * one spawn. The program is built and written to its unlinked file once per process; each call is then
 * a single open(2) of its own, where {@link openSeccompFd} would build, write, open and remove a file
 * on every worker start. Close it right after `spawn` returns, as with {@link openSeccompFd}.
 */
export function openDefaultSeccompFd(): SeccompFd {
  defaultSource ??= createSeccompSource(buildSeccompFilter())
  return defaultSource.open()
}

function wrapFd(fd: number): SeccompFd {
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

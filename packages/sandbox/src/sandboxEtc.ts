import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { type EtcCopy, type EtcMountPoint, etcCopyIsCurrent, prepareEtcCopy } from './sandboxEtcCopy.js'

/** The uid and gid the worker has inside its user namespace. */
export const SANDBOX_UID = 1000
/** See {@link SANDBOX_UID}. */
export const SANDBOX_GID = 1000
/** The hostname inside the sandbox. */
export const SANDBOX_HOSTNAME = 'capsule'
/** The sandbox user's name in the generated `/etc/passwd` and `/etc/group`. */
export const SANDBOX_USER_NAME = 'capsule'

/**
 * The host `/etc` entries a sandbox shows read-only (when the host has them), each with why: what the
 * dynamic linker and distribution Python packages read, and nothing that holds a secret or names the
 * host. They are copied into {@link generatedEtcDir}: directories whole, a symlink into `/usr` as a
 * symlink.
 */
export const SANDBOX_ETC_BINDS: ReadonlyArray<{ path: string; why: string }> = Object.freeze([
  { path: '/etc/ld.so.cache', why: 'the dynamic loader finds libraries quickly' },
  {
    path: '/etc/ld.so.conf',
    why: 'the loader search path (read by ldconfig -p and ctypes.util.find_library)',
  },
  { path: '/etc/ld.so.conf.d', why: 'the same, per package' },
  {
    path: '/etc/alternatives',
    why: "Debian's alternatives: numpy's libblas.so.3 and liblapack.so.3 resolve through these symlinks",
  },
  { path: '/etc/localtime', why: 'local time matches the host (a symlink into /usr/share/zoneinfo)' },
  { path: '/etc/timezone', why: "the zone's name, as Debian tools and tzlocal read it" },
  { path: '/etc/mime.types', why: 'mimetypes.guess_type() knows what the host knows' },
  { path: '/etc/matplotlibrc', why: "Debian's matplotlib reads its default rc file here" },
  { path: '/etc/fonts', why: 'fontconfig configuration (fc-list, matplotlib and Pillow font lookup)' },
  { path: '/etc/python3', why: "Debian's Python configuration" },
  { path: '/etc/python3.11', why: "Debian's sitecustomize.py for python3.11" },
  { path: '/etc/python3.12', why: "Debian's sitecustomize.py for python3.12" },
  { path: '/etc/python3.13', why: "Debian's sitecustomize.py for python3.13" },
  { path: '/etc/protocols', why: 'socket.getprotobyname()' },
  { path: '/etc/services', why: 'socket.getservbyname() and getaddrinfo() with a service name' },
  {
    path: '/etc/os-release',
    why: 'platform.freedesktop_os_release(); names the distribution and its version, which /usr shows anyway',
  },
])

/** The files every sandbox gets generated (not from the host), by name under `/etc`. */
export function generatedEtcFiles(): Record<string, string> {
  return {
    hosts: [
      `127.0.0.1\tlocalhost`,
      `127.0.1.1\t${SANDBOX_HOSTNAME}`,
      '::1\tlocalhost ip6-localhost ip6-loopback',
      '',
    ].join('\n'),
    passwd: [
      `${SANDBOX_USER_NAME}:x:${SANDBOX_UID}:${SANDBOX_GID}:Capsule sandbox:/tmp:/bin/sh`,
      'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
      '',
    ].join('\n'),
    group: [`${SANDBOX_USER_NAME}:x:${SANDBOX_GID}:`, 'nogroup:x:65534:', ''].join('\n'),
    'nsswitch.conf': [
      '# Capsule sandbox: local files only; there is no network and no directory service.',
      'passwd: files',
      'group: files',
      'shadow: files',
      'hosts: files',
      'networks: files',
      'protocols: files',
      'services: files',
      'ethers: files',
      'rpc: files',
      '',
    ].join('\n'),
  }
}

// One copy per set of mount points (almost always the one set: matplotlib's font cache), remade when
// the host's entries or the copy change. A replaced copy is kept until the process exits: sandboxes
// that bound it still read it.
const copies = new Map<string, EtcCopy>()
const madeDirs: string[] = []

/**
 * The host directory every sandbox binds read-only as its whole `/etc`: the {@link SANDBOX_ETC_BINDS}
 * entries the host has, copied (symlinks as symlinks), the {@link generatedEtcFiles}, and an empty
 * directory or file for each of `mountPoints` (bwrap cannot create them inside a read-only bind).
 * Made with `mkdtemp` (only this process's user can write it), mode 0755, nothing group- or
 * world-writable, removed when the process exits. Each call checks, with an lstat per copied file and
 * directory, that neither the host's entries nor the copy changed (a package upgrade, a tmp cleaner),
 * and makes a fresh copy when one did.
 */
export function generatedEtcDir(mountPoints: readonly EtcMountPoint[] = []): string {
  const points = [...mountPoints].sort((a, b) => a.path.localeCompare(b.path))
  const key = JSON.stringify(points)
  const current = copies.get(key)
  if (current !== undefined && etcCopyIsCurrent(current)) return current.dir
  const copy = prepareEtcCopy({
    sourceRoot: '/etc',
    entries: SANDBOX_ETC_BINDS.map(({ path }) => path.slice('/etc/'.length)),
    generated: generatedEtcFiles(),
    mountPoints: points,
    parent: tmpdir(),
  })
  if (madeDirs.length === 0) {
    process.once('exit', () => {
      for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true })
    })
  }
  madeDirs.push(copy.dir)
  copies.set(key, copy)
  return copy.dir
}

/**
 * The bwrap arguments of a sandbox's `/etc`: `generated` (see {@link generatedEtcDir}) bound
 * read-only, one mount for the whole directory. Nothing else of the host's `/etc`.
 */
export function sandboxEtcArgs(generated: string): string[] {
  return ['--ro-bind', generated, '/etc']
}

import { chmodSync, lstatSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, posix } from 'node:path'
import type { HostFilesystem } from './sandboxCommand.js'

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
 * host. Directories are bound whole; a symlink into `/usr` is recreated as a symlink.
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

let generatedDir: string | undefined

/**
 * The host directory holding {@link generatedEtcFiles}: made once per process with `mkdtemp` (so only
 * this process's user can write it), mode 0755 with files 0644 so a dropped sandbox uid can read
 * them, removed when the process exits. Made again if something removed or changed it (a tmp cleaner).
 */
export function generatedEtcDir(): string {
  const files = generatedEtcFiles()
  if (generatedDir !== undefined && intact(generatedDir, files)) return generatedDir
  const dir = mkdtempSync(join(tmpdir(), 'capsule-etc-'))
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(dir, name), text, { mode: 0o644, flag: 'wx' })
    chmodSync(join(dir, name), 0o644)
  }
  chmodSync(dir, 0o755)
  if (generatedDir === undefined) {
    process.once('exit', () => {
      if (generatedDir !== undefined) rmSync(generatedDir, { recursive: true, force: true })
    })
  }
  generatedDir = dir
  return dir
}

function intact(dir: string, files: Record<string, string>): boolean {
  try {
    const uid = process.getuid?.()
    const stat = lstatSync(dir)
    if (!stat.isDirectory() || (stat.mode & 0o022) !== 0 || (uid !== undefined && stat.uid !== uid))
      return false
    return Object.entries(files).every(([name, text]) => {
      const file = lstatSync(join(dir, name))
      return file.isFile() && (file.mode & 0o022) === 0 && readFileSync(join(dir, name), 'utf8') === text
    })
  } catch {
    return false
  }
}

/**
 * The bwrap arguments of a sandbox's `/etc`: {@link SANDBOX_ETC_BINDS} the host has, read-only (a
 * symlink into `/usr` as a symlink), and the generated `hosts`, `passwd`, `group` and `nsswitch.conf`
 * from `generated` (see {@link generatedEtcDir}), read-only. Nothing else of the host's `/etc`.
 */
export function sandboxEtcArgs(host: HostFilesystem, generated: string): string[] {
  const args: string[] = []
  for (const { path } of SANDBOX_ETC_BINDS) {
    const kind = host.kind(path)
    if (kind === 'missing') continue
    if (kind === 'symlink') {
      const target = host.readlink(path)
      if (posix.resolve(dirname(path), target).startsWith('/usr/')) {
        args.push('--symlink', target, path)
        continue
      }
      // A symlink elsewhere: bind what it points at, if that is there.
      if (host.realpath(path) === null) continue
    }
    args.push('--ro-bind', path, path)
  }
  for (const name of Object.keys(generatedEtcFiles())) {
    args.push('--ro-bind', join(generated, name), `/etc/${name}`)
  }
  return args
}

import { randomBytes } from 'node:crypto'
import {
  accessSync,
  constants,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import type { Writable } from 'node:stream'
import { setTimeout as delay } from 'node:timers/promises'
import type { SandboxLimits } from './sandboxLimits.js'

/** A cgroup made for one worker, holding its memory and process limits. */
export interface WorkerCgroup {
  /** 2 for the unified hierarchy (memory and pids), 1 for the legacy pids hierarchy (pids only). */
  readonly version: 1 | 2
  /** The cgroup's directory. */
  readonly path: string
  /** Which limits this cgroup enforces. */
  readonly controllers: ReadonlyArray<'memory' | 'pids'>
  /**
   * Wraps a launcher so it waits at a gate, before it execs, until {@link admit} has moved it into the
   * cgroup: every descendant (bwrap, the sandbox, whatever it forks) is born inside. Spawn the result
   * instead of the command, with a `'pipe'` at stdio index `gateFd`. The wrapper is `/bin/sh`, keeps
   * the pid (so `child.pid` is the launcher's) and closes the gate descriptor before it execs.
   *
   * The host moves the process rather than the process itself: a launcher started under another uid
   * (a root host's sandbox user) may not write `cgroup.procs`, and on cgroup v2 moving needs write
   * access to the common ancestor too.
   */
  wrapCommand(
    command: { command: string; args: string[] },
    gateFd: number,
  ): { command: string; args: string[] }
  /**
   * Moves a process started from {@link wrapCommand} into the cgroup and opens its gate. When the move
   * fails the gate closes unopened (the wrapper exits with 125 without running the command) and the
   * error is returned.
   */
  admit(pid: number | undefined, gate: Writable): Error | undefined
  /** Moves a process in. Only safe before it forks: children forked earlier stay outside. */
  addPid(pid: number): void
  /** How many times the kernel OOM-killed a process here (memory.events oom_kill), or null without memory. */
  memoryEvents(): { oomKill: number } | null
  /** How many forks the pids limit refused (pids.events max). */
  pidsEvents(): { max: number }
  /** Kills what is left inside and removes the cgroup. Idempotent. */
  dispose(): Promise<void>
}

/** Where {@link createWorkerCgroup} looks; tests point it elsewhere. */
export interface WorkerCgroupOptions {
  /** A parent cgroup directory delegated to this host, with memory and pids enabled for children. */
  parent?: string
  /** /proc/self/mountinfo's text (default: read it). */
  mountinfo?: string
  /** /proc/self/cgroup's text (default: read it). */
  selfCgroup?: string
}

const DISPOSE_DEADLINE_MS = 2_000
// Waits for the host's "go" on the gate descriptor, closes it, then execs the command.
const gateScript = (fd: number) =>
  `IFS= read -r go <&${fd}; exec ${fd}<&-; [ "$go" = go ] || { echo 'capsule-cgroup: the host did not admit this process to its cgroup' >&2; exit 125; }; exec "$@"`
// The directory name of a worker cgroup: the creating host's pid and a random tag.
const CGROUP_NAME = /^capsule-(\d+)-[0-9a-f]{8}$/
const swept = new Set<string>()

/**
 * Creates a cgroup for one worker with `memory.max` (and no swap) and `pids.max`, when this process
 * may: a cgroup v2 directory whose subtree has memory and pids enabled (`options.parent`, or the
 * process's own cgroup when it is delegated or the root), else the legacy v1 pids hierarchy (pids
 * only; memory then rests on RLIMIT_AS). Returns null when neither is writable: rlimits are the
 * fallback, and RLIMIT_NPROC does not bind a host running as real root. The first time it uses a
 * parent, it also removes what crashed hosts left there ({@link removeStaleWorkerCgroups}).
 */
export function createWorkerCgroup(
  limits: Pick<SandboxLimits, 'memoryBytes' | 'maxProcesses'>,
  options: WorkerCgroupOptions = {},
): WorkerCgroup | null {
  const mounts = parseCgroupMounts(options.mountinfo ?? readOrEmpty('/proc/self/mountinfo'))
  const membership = parseSelfCgroup(options.selfCgroup ?? readOrEmpty('/proc/self/cgroup'))
  const name = `capsule-${process.pid}-${randomBytes(4).toString('hex')}`

  const v2Parents = options.parent
    ? [options.parent]
    : mounts.v2 && membership.v2 !== undefined
      ? [join(mounts.v2, membership.v2)]
      : []
  for (const parent of v2Parents) {
    const enabled = readOrEmpty(join(parent, 'cgroup.subtree_control')).split(/\s+/)
    if (!enabled.includes('pids') || !enabled.includes('memory') || !isWritable(parent)) continue
    sweepOnce(parent)
    const path = join(parent, name)
    try {
      mkdirSync(path)
      writeLimit(join(path, 'memory.max'), limits.memoryBytes)
      writeLimit(join(path, 'memory.swap.max'), 0, true)
      writeLimit(join(path, 'pids.max'), limits.maxProcesses)
    } catch {
      removeQuietly(path)
      continue
    }
    return makeCgroup(2, path, ['memory', 'pids'])
  }

  const pidsRoot = mounts.v1.get('pids')
  const pidsOwn = membership.v1.get('pids')
  if (pidsRoot && pidsOwn !== undefined) {
    const parent = join(pidsRoot, pidsOwn)
    if (!isWritable(parent)) return null
    sweepOnce(parent)
    const path = join(parent, name)
    try {
      mkdirSync(path)
      writeLimit(join(path, 'pids.max'), limits.maxProcesses)
    } catch {
      removeQuietly(path)
      return null
    }
    return makeCgroup(1, path, ['pids'])
  }
  return null
}

function makeCgroup(version: 1 | 2, path: string, controllers: Array<'memory' | 'pids'>): WorkerCgroup {
  const procs = join(path, 'cgroup.procs')
  let disposed: Promise<void> | undefined
  return {
    version,
    path,
    controllers,
    wrapCommand: (command, gateFd) => ({
      command: '/bin/sh',
      args: ['-c', gateScript(gateFd), 'capsule-cgroup', command.command, ...command.args],
    }),
    admit(pid, gate) {
      let failure: Error | undefined
      try {
        if (pid === undefined) throw new Error('the launcher has no pid: it did not start')
        writeFileSync(procs, String(pid))
      } catch (error) {
        failure = error as Error
      }
      // A wrapper that died early makes the write fail with EPIPE: its exit tells the story.
      gate.on('error', () => {})
      gate.end(failure ? undefined : 'go\n')
      return failure
    },
    addPid: (pid) => writeFileSync(procs, String(pid)),
    memoryEvents() {
      if (!controllers.includes('memory')) return null
      return { oomKill: readCounter(join(path, 'memory.events'), 'oom_kill') }
    },
    pidsEvents: () => ({ max: readCounter(join(path, 'pids.events'), 'max') }),
    dispose() {
      disposed ??= removeCgroup(path)
      return disposed
    },
  }
}

/**
 * Removes the per-worker cgroups (`capsule-<pid>-<hex>`) a host left under `parent` when it died
 * without cleaning up: only those whose host pid is not alive (in this PID namespace), never this
 * process's own. What still runs inside one is killed first; one that cannot be emptied or removed
 * is left alone. Resolves with the paths removed; never rejects.
 */
export async function removeStaleWorkerCgroups(parent: string): Promise<string[]> {
  let names: string[]
  try {
    names = readdirSync(parent)
  } catch {
    return []
  }
  const removed: string[] = []
  const busy: string[] = []
  for (const name of names) {
    const pid = Number(CGROUP_NAME.exec(name)?.[1])
    if (!pid || pid === process.pid || isAlive(pid)) continue
    const path = join(parent, name)
    try {
      rmdirSync(path)
      removed.push(path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EBUSY') busy.push(path)
    }
  }
  for (const path of busy) {
    try {
      await removeCgroup(path)
      removed.push(path)
    } catch {}
  }
  return removed
}

function sweepOnce(parent: string): void {
  if (swept.has(parent)) return
  swept.add(parent)
  void removeStaleWorkerCgroups(parent)
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: alive, just not ours to signal.
    return (error as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

async function removeCgroup(path: string): Promise<void> {
  const deadline = Date.now() + DISPOSE_DEADLINE_MS
  for (;;) {
    killAll(path)
    try {
      rmdirSync(path)
      return
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT') return
      // EBUSY until the killed processes have exited; the kernel offers no event for that on v1.
      if (code !== 'EBUSY' || Date.now() > deadline) throw error
    }
    await delay(20)
  }
}

function killAll(path: string): void {
  try {
    writeFileSync(join(path, 'cgroup.kill'), '1')
    return
  } catch {}
  for (const pid of readOrEmpty(join(path, 'cgroup.procs')).split('\n')) {
    if (!pid) continue
    try {
      process.kill(Number(pid), 'SIGKILL')
    } catch {}
  }
}

function writeLimit(file: string, value: number, optional = false): void {
  try {
    writeFileSync(file, value === Number.POSITIVE_INFINITY ? 'max' : String(value))
  } catch (error) {
    if (!optional) throw error
  }
}

function readCounter(file: string, key: string): number {
  const line = readOrEmpty(file)
    .split('\n')
    .find((l) => l.startsWith(`${key} `))
  return line ? Number(line.slice(key.length + 1)) : 0
}

interface CgroupMounts {
  v2?: string
  v1: Map<string, string>
}

/** Mount points of cgroup hierarchies, from /proc/self/mountinfo. */
function parseCgroupMounts(mountinfo: string): CgroupMounts {
  const result: CgroupMounts = { v1: new Map() }
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ')
    if (!left || !right) continue
    const mountPoint = left.split(' ')[4]
    const [fstype, , superOptions] = right.split(' ')
    if (!mountPoint) continue
    if (fstype === 'cgroup2') result.v2 ??= mountPoint
    else if (fstype === 'cgroup') {
      for (const option of (superOptions ?? '').split(',')) result.v1.set(option, mountPoint)
    }
  }
  return result
}

/** This process's cgroup paths, from /proc/self/cgroup. */
function parseSelfCgroup(text: string): { v2?: string; v1: Map<string, string> } {
  const result: { v2?: string; v1: Map<string, string> } = { v1: new Map() }
  for (const line of text.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line)
    if (!match) continue
    const [, id, controllers, path] = match as unknown as [string, string, string, string]
    if (id === '0' && controllers === '') result.v2 = path
    else for (const controller of controllers.split(',')) result.v1.set(controller, path)
  }
  return result
}

function readOrEmpty(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

function isWritable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK)
    return true
  } catch {
    return false
  }
}

function removeQuietly(path: string): void {
  try {
    rmdirSync(path)
  } catch {}
}

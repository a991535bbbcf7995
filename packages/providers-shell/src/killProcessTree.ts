import { readdirSync, readFileSync } from 'node:fs'

/** How a process is related to the command we started. */
interface ProcessInfo {
  pid: number
  ppid: number
  pgrp: number
  session: number
  /** Zombies (Z) and dead (X) entries are already gone; only their parent can reap them. */
  gone: boolean
}

function readStat(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // The command name may contain spaces and parentheses; the fields after its last ')' are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return {
      pid,
      ppid: Number(fields[1]),
      pgrp: Number(fields[2]),
      session: Number(fields[3]),
      gone: fields[0] === 'Z' || fields[0] === 'X',
    }
  } catch {
    return undefined
  }
}

function hasMarker(pid: number, marker: Buffer): boolean {
  try {
    const environ = readFileSync(`/proc/${pid}/environ`)
    return environ.indexOf(marker) !== -1
  } catch {
    return false
  }
}

/**
 * The processes that came from the command started as `leader` (in its own session and process
 * group): members of that group or session, descendants of any of them, and any process whose
 * environment still carries the run's marker (a daemon that called setsid and was re-parented).
 */
export function findRunProcesses(leader: number, runToken: string): number[] {
  const marker = Buffer.from(`\0CAPSULE_SHELL_RUN=${runToken}\0`)
  const all: ProcessInfo[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const info = readStat(Number(entry))
    if (info !== undefined) all.push(info)
  }
  const found = new Set<number>()
  for (const p of all) {
    if (p.pid === process.pid || p.gone) continue
    if (p.pgrp === leader || p.session === leader || hasMarker(p.pid, marker)) found.add(p.pid)
  }
  // Descendants of anything found (a child that changed group and cleared its environment).
  let grew = true
  while (grew) {
    grew = false
    for (const p of all) {
      if (!found.has(p.pid) && !p.gone && found.has(p.ppid) && p.pid !== process.pid) {
        found.add(p.pid)
        grew = true
      }
    }
  }
  return [...found]
}

/**
 * Kills everything a command started, with SIGKILL (nothing can ignore it): the process group first,
 * then sweeps /proc (see {@link findRunProcesses}) until a pass finds nothing, so processes forked
 * during a pass are caught by the next. Synchronous: a pass over /proc takes a few milliseconds.
 */
export function killProcessTree(leader: number, runToken: string): void {
  try {
    process.kill(-leader, 'SIGKILL')
  } catch {}
  for (let pass = 0; pass < 20; pass++) {
    const pids = findRunProcesses(leader, runToken)
    if (pids.length === 0) return
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
    }
  }
}

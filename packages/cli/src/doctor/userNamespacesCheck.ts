import { readFileSync } from 'node:fs'
import type { DoctorCheck, DoctorFinding } from './doctorCheck.js'
import type { DoctorContext } from './doctorContext.js'

/** The sysctls that decide whether an unprivileged process may create a user namespace. */
export interface UsernsSysctls {
  /** kernel.unprivileged_userns_clone (Debian kernels; absent elsewhere). */
  unprivilegedUsernsClone: number | undefined
  /** user.max_user_namespaces. */
  maxUserNamespaces: number | undefined
  /** kernel.apparmor_restrict_unprivileged_userns (Ubuntu ≥ 23.10). */
  apparmorRestrict: number | undefined
}

/** Reads the user-namespace sysctls from /proc/sys (read only: the doctor never changes the host). */
export function readUsernsSysctls(procSys = '/proc/sys'): UsernsSysctls {
  const read = (name: string) => {
    try {
      const value = Number(readFileSync(`${procSys}/${name}`, 'utf8').trim())
      return Number.isFinite(value) ? value : undefined
    } catch {
      return undefined
    }
  }
  return {
    unprivilegedUsernsClone: read('kernel/unprivileged_userns_clone'),
    maxUserNamespaces: read('user/max_user_namespaces'),
    apparmorRestrict: read('kernel/apparmor_restrict_unprivileged_userns'),
  }
}

const PERSIST = 'to keep it after a reboot, put the same setting in /etc/sysctl.d/60-capsule.conf'
const APPARMOR_FIX =
  'AppArmor restricts unprivileged user namespaces (Ubuntu ≥ 23.10). Narrowest: let only bwrap create them, with ' +
  'a profile /etc/apparmor.d/bwrap containing `abi <abi/4.0>, include <tunables/global> profile bwrap /usr/bin/bwrap ' +
  'flags=(unconfined) { userns, }`, loaded with `apparmor_parser -r /etc/apparmor.d/bwrap`. Or lift the restriction ' +
  `for every program: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (${PERSIST})`

/**
 * Judges the sysctls together with what really happened: `started` is true when a sandbox ran as the
 * identity sandboxed workers get, false when bwrap reported the namespaces refused, undefined when
 * nothing could be tried.
 */
export function judgeUserNamespaces(sysctls: UsernsSysctls, started: boolean | undefined): DoctorFinding {
  const show = (value: number | undefined) => (value === undefined ? 'absent' : String(value))
  const details = [
    `kernel.unprivileged_userns_clone = ${show(sysctls.unprivilegedUsernsClone)}`,
    `user.max_user_namespaces = ${show(sysctls.maxUserNamespaces)}`,
    `kernel.apparmor_restrict_unprivileged_userns = ${show(sysctls.apparmorRestrict)}`,
  ]
  const fixes: string[] = []
  if (sysctls.maxUserNamespaces === 0) fixes.push(`sysctl -w user.max_user_namespaces=15000 (${PERSIST})`)
  if (sysctls.unprivilegedUsernsClone === 0)
    fixes.push(`sysctl -w kernel.unprivileged_userns_clone=1 (${PERSIST})`)
  if (sysctls.apparmorRestrict === 1) fixes.push(APPARMOR_FIX)
  if (started === true) {
    const note =
      sysctls.apparmorRestrict === 1 ? ' (AppArmor restricts them, and a profile lets bwrap through)' : ''
    return {
      status: 'ok',
      summary: `unprivileged user namespaces work: a sandbox started as the sandbox identity${note}`,
      details,
    }
  }
  if (started === false) {
    return {
      status: 'fail',
      summary: 'the kernel refused bubblewrap an unprivileged user namespace',
      details,
      fix:
        fixes.join('; ') ||
        "in a container, Docker's default seccomp profile blocks namespaces: run it with a profile that allows them (or --security-opt seccomp=unconfined)",
    }
  }
  if (fixes.length > 0) {
    return {
      status: sysctls.apparmorRestrict === 1 && fixes.length === 1 ? 'warn' : 'fail',
      summary: 'the sysctls restrict unprivileged user namespaces (no sandbox could be tried)',
      details,
      fix: fixes.join('; '),
    }
  }
  return {
    status: 'skip',
    summary: 'the sysctls allow unprivileged user namespaces; no sandbox could be tried to confirm it',
    details,
    fix: 'fix bwrap or uid-drop first',
  }
}

/** Unprivileged user namespaces, which every sandbox needs: the sysctls, and a real sandbox as the proof. */
export const userNamespacesCheck: DoctorCheck = {
  id: 'userns',
  run: async (context) => judgeUserNamespaces(readUsernsSysctls(), await sandboxStarted(context)),
}

// The worker's identity is unprivileged in every case (the host's own uid, or a leased one on a root
// host), so any sandboxed session that started proves the namespaces; a refusal shows in its reason.
async function sandboxStarted(context: DoctorContext): Promise<boolean | undefined> {
  if (context.settings.sandboxInForce === 'none') return undefined
  let refused = false
  for (const candidate of await context.candidates()) {
    if (!candidate.info) continue
    const run = await context.sandboxedRun(candidate.python)
    if (run.started) return true
    if (run.reason === 'userns-blocked') refused = true
  }
  return refused ? false : undefined
}

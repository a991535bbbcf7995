import { probeSandbox } from '@capsule/core'
import type { DoctorCheck } from './doctorCheck.js'

/** bubblewrap is there, new enough, and starts a real sandbox (`/usr/bin/true` under the worker's flags). */
export const bwrapCheck: DoctorCheck = {
  id: 'bwrap',
  run: async ({ settings, isRoot }) => {
    const probe = await probeSandbox(settings.options.bwrapPath)
    const asked = settings.options.bwrapPath ?? 'bwrap on PATH'
    const who = isRoot ? 'as root (the sandbox uid is tried by uid-drop)' : 'as this user'
    const details = [`bwrapPath: ${asked}`, `sandbox in force: ${settings.sandboxInForce}`]
    if (probe.available) {
      return {
        status: 'ok',
        summary: `bubblewrap ${probe.version} at ${probe.bwrapPath} starts a sandbox`,
        details: [...details, `probe: /usr/bin/true under the worker's flags exited 0, ${who}`],
      }
    }
    const notNeeded = settings.sandboxInForce === 'none'
    return {
      status: notNeeded ? 'skip' : 'fail',
      summary: notNeeded
        ? `bubblewrap is not usable (${probe.reason}), and the sandbox in force is none`
        : `bubblewrap cannot start a sandbox (${probe.reason}): ${probe.message}`,
      details: [...details, `probe of ${probe.bwrapPath}: ${probe.message}`],
      fix: probe.hint,
    }
  },
}

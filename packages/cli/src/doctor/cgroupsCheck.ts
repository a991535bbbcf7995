import { createWorkerCgroup } from '@capsule/core/sandbox'
import type { DoctorCheck } from './doctorCheck.js'

const MIB = 1024 * 1024
const DELEGATE_FIX =
  "run the host in a cgroup v2 with memory and pids delegated to it (systemd: Delegate=yes on the service; by hand: mkdir /sys/fs/cgroup/capsule && echo '+memory +pids' > /sys/fs/cgroup/cgroup.subtree_control, then start the host inside it)"

/**
 * Whether each worker can get a cgroup of its own: v2 bounds memory and processes, v1 processes only, and
 * without one memory rests on RLIMIT_AS. Makes a real worker cgroup the way the launcher does, and removes it.
 */
export const cgroupsCheck: DoctorCheck = {
  id: 'cgroups',
  run: async ({ settings }) => {
    const { memoryMb, maxProcesses } = settings.limits
    const cgroup = createWorkerCgroup({
      memoryBytes: memoryMb > 0 ? memoryMb * MIB : Number.POSITIVE_INFINITY,
      maxProcesses: maxProcesses > 0 ? maxProcesses : Number.POSITIVE_INFINITY,
    })
    const limits = `limits: memoryMb ${memoryMb}, maxProcesses ${maxProcesses}`
    if (!cgroup) {
      return {
        status: 'warn',
        summary: 'no writable cgroup: memory rests on RLIMIT_AS and processes on RLIMIT_NPROC',
        details: [
          limits,
          'neither a cgroup v2 with memory and pids delegated nor the v1 pids hierarchy is writable',
        ],
        fix: DELEGATE_FIX,
      }
    }
    try {
      const where = `made and removed ${cgroup.path}`
      if (cgroup.version === 2) {
        return {
          status: 'ok',
          summary: 'cgroup v2: each worker gets memory.max and pids.max',
          details: [limits, where],
        }
      }
      return {
        status: 'warn',
        summary: 'cgroup v1 pids only: processes are bounded per worker, memory rests on RLIMIT_AS',
        details: [limits, where, 'RLIMIT_AS bounds virtual memory; tmpfs pages are not counted by it'],
        fix: DELEGATE_FIX,
      }
    } finally {
      await cgroup.dispose()
    }
  },
}

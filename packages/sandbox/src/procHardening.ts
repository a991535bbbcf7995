import type { HostFilesystem } from './sandboxCommand.js'

/**
 * /proc entries bound read-only in every sandbox, and why (runc's `readonlyPaths`, plus /proc/fs).
 * bubblewrap 0.8 covers sys, sysrq-trigger, irq and bus itself only when `access(W_OK)` on them succeeds
 * at setup, and the kernel always refuses that for the /proc/sys directory, so the sysctl files below
 * it stayed writable for a sandbox whose uid maps to host root. Binding them is explicit and does not
 * depend on the uid.
 */
export const PROC_READ_ONLY_PATHS: Readonly<Record<string, string>> = {
  '/proc/sys': 'host-global sysctls (kernel.core_pattern runs a program as host root on a crash dump)',
  '/proc/sysrq-trigger': 'reboots, crashes or freezes the host',
  '/proc/irq': 'interrupt affinity of the whole host',
  '/proc/bus': 'PCI and USB device configuration',
  '/proc/fs': 'per-filesystem host settings (NFS, ext4, XFS)',
}

/**
 * /proc entries hidden in every sandbox, and why (runc's `maskedPaths` and kin): files are covered with
 * /dev/null, directories with an empty read-only tmpfs.
 */
export const PROC_MASKED_PATHS: Readonly<Record<string, string>> = {
  '/proc/kcore': 'the host’s physical memory as an ELF core',
  '/proc/kmsg': 'the kernel log, consumed on read',
  '/proc/kallsyms': 'kernel symbol addresses (defeats KASLR where not restricted)',
  '/proc/keys': 'the kernel keyring, which is not namespaced',
  '/proc/key-users': 'see /proc/keys',
  '/proc/timer_list': 'timers of every process on the host',
  '/proc/timer_stats': 'see /proc/timer_list',
  '/proc/sched_debug': 'scheduler state of every process on the host',
  '/proc/latency_stats': 'latency records of every process on the host',
  '/proc/kpagecount': 'physical page usage (a Rowhammer aid)',
  '/proc/kpageflags': 'see /proc/kpagecount',
  '/proc/kpagecgroup': 'see /proc/kpagecount',
  '/proc/vmallocinfo': 'kernel virtual addresses',
  '/proc/slabinfo': 'kernel allocator state (heap exploit aid)',
  '/proc/acpi': 'firmware interfaces',
  '/proc/asound': 'sound devices',
  '/proc/scsi': 'SCSI devices, some writable',
}

/** bwrap arguments that harden the sandbox's /proc, and the directories to remount read-only last. */
export interface ProcHardening {
  /** Place right after `--proc /proc`. */
  args: string[]
  /** Masking tmpfs mounts: pass each to `--remount-ro` at the end of setup. */
  remountReadOnly: string[]
}

/**
 * The bwrap arguments that make {@link PROC_READ_ONLY_PATHS} read-only and hide {@link PROC_MASKED_PATHS},
 * for the entries this kernel has (bwrap fails on a mount point that does not exist). The sandbox's own
 * procfs has the same global entries as the host's, which is what `host` looks at.
 */
export function procHardeningArgs(host: HostFilesystem): ProcHardening {
  const args: string[] = []
  const remountReadOnly: string[] = []
  for (const path of Object.keys(PROC_READ_ONLY_PATHS)) {
    // The source is the host's entry: sysctl files answer for the namespaces of whoever opens them.
    if (host.kind(path) !== 'missing') args.push('--ro-bind', path, path)
  }
  for (const path of Object.keys(PROC_MASKED_PATHS)) {
    const kind = host.kind(path)
    if (kind === 'file') args.push('--ro-bind', '/dev/null', path)
    else if (kind === 'dir') {
      args.push('--tmpfs', path)
      remountReadOnly.push(path)
    }
  }
  return { args, remountReadOnly }
}

// A classic-BPF seccomp program, assembled here so the build needs no C compiler or libseccomp.
// Layout of the program (one per architecture):
//   arch check → kill | (x86_64) x32 check → kill | deny list → EPERM | clone3 → ENOSYS
//   | clone/ioctl/personality argument checks | allow
import { SandboxError } from './sandboxError.js'

/** The architectures {@link buildSeccompFilter} has syscall tables for (Node's `process.arch` names). */
export type SeccompArch = 'x64' | 'arm64'

/** The syscalls the sandbox answers with EPERM, by name, and why each is there. */
export const SECCOMP_DENIED_SYSCALLS: Readonly<Record<string, string>> = {
  io_uring_setup:
    'io_uring bypasses the syscall filter for the operations it queues and has a long CVE history',
  io_uring_enter: 'see io_uring_setup',
  io_uring_register: 'see io_uring_setup',
  ptrace: 'no debugging of other processes in the sandbox',
  process_vm_readv: 'reads another process’s memory like ptrace',
  process_vm_writev: 'writes another process’s memory like ptrace',
  bpf: 'kernel attack surface; unprivileged eBPF has had many exploits',
  perf_event_open: 'kernel attack surface and side channels',
  userfaultfd: 'a staple of kernel race exploits',
  keyctl: 'the kernel keyring is not namespaced',
  add_key: 'see keyctl',
  request_key: 'see keyctl',
  kexec_load: 'never needed; needs CAP_SYS_BOOT anyway',
  kexec_file_load: 'see kexec_load',
  init_module: 'never needed; needs CAP_SYS_MODULE anyway',
  finit_module: 'see init_module',
  delete_module: 'see init_module',
  mount: 'the mount table is fixed by the launcher; a new mount namespace would not need this',
  umount2: 'see mount: unmounting could reveal what a mount hides',
  pivot_root: 'see mount',
  open_tree: 'the new mount API, see mount',
  move_mount: 'see open_tree',
  fsopen: 'see open_tree',
  fsconfig: 'see open_tree',
  fsmount: 'see open_tree',
  fspick: 'see open_tree',
  mount_setattr: 'see open_tree',
  unshare:
    'no new namespaces of any kind inside the sandbox (bwrap --disable-userns covers user namespaces only)',
  setns: 'no joining of other namespaces',
  open_by_handle_at: 'the "shocker" container escape; needs CAP_DAC_READ_SEARCH anyway',
  syslog: 'the kernel log is host information',
  acct: 'process accounting is host-wide',
  swapon: 'host-wide',
  swapoff: 'host-wide',
  reboot: 'host-wide',
  quotactl: 'host-wide',
  vhangup: 'terminal hijacking',
  modify_ldt:
    'x86 only: rewrites the local descriptor table, kernel attack surface behind several exploits (absent on aarch64)',
  kcmp: 'compares kernel objects of two processes: a probe of another process and of kernel pointers',
  pidfd_getfd: 'copies a descriptor out of another process, like ptrace',
}

interface ArchTable {
  /** AUDIT_ARCH_* value the kernel puts in seccomp_data.arch. */
  auditArch: number
  /** Syscall numbers at and above this belong to a foreign ABI on this arch (x32), or undefined. */
  foreignAbiBase?: number
  numbers: Readonly<Record<string, number>>
  /** Denied syscalls this architecture does not have: nothing to refuse. */
  absent: readonly string[]
}

// From <asm/unistd_64.h> (x86_64) and <asm-generic/unistd.h> (aarch64 uses the generic table).
const ARCH_TABLES: Readonly<Record<SeccompArch, ArchTable>> = {
  x64: {
    auditArch: 0xc000003e, // AUDIT_ARCH_X86_64
    foreignAbiBase: 0x40000000, // __X32_SYSCALL_BIT
    numbers: {
      ioctl: 16,
      clone: 56,
      ptrace: 101,
      syslog: 103,
      personality: 135,
      vhangup: 153,
      modify_ldt: 154,
      pivot_root: 155,
      acct: 163,
      mount: 165,
      umount2: 166,
      swapon: 167,
      swapoff: 168,
      reboot: 169,
      init_module: 175,
      delete_module: 176,
      quotactl: 179,
      kexec_load: 246,
      add_key: 248,
      request_key: 249,
      keyctl: 250,
      unshare: 272,
      perf_event_open: 298,
      open_by_handle_at: 304,
      setns: 308,
      process_vm_readv: 310,
      process_vm_writev: 311,
      kcmp: 312,
      finit_module: 313,
      kexec_file_load: 320,
      bpf: 321,
      userfaultfd: 323,
      io_uring_setup: 425,
      io_uring_enter: 426,
      io_uring_register: 427,
      open_tree: 428,
      move_mount: 429,
      fsopen: 430,
      fsconfig: 431,
      fsmount: 432,
      fspick: 433,
      clone3: 435,
      pidfd_getfd: 438,
      mount_setattr: 442,
    },
    absent: [],
  },
  arm64: {
    auditArch: 0xc00000b7, // AUDIT_ARCH_AARCH64
    numbers: {
      ioctl: 29,
      umount2: 39,
      mount: 40,
      pivot_root: 41,
      vhangup: 58,
      quotactl: 60,
      acct: 89,
      personality: 92,
      unshare: 97,
      kexec_load: 104,
      init_module: 105,
      delete_module: 106,
      syslog: 116,
      ptrace: 117,
      reboot: 142,
      add_key: 217,
      request_key: 218,
      keyctl: 219,
      clone: 220,
      swapon: 224,
      swapoff: 225,
      perf_event_open: 241,
      open_by_handle_at: 265,
      setns: 268,
      process_vm_readv: 270,
      process_vm_writev: 271,
      kcmp: 272,
      finit_module: 273,
      bpf: 280,
      userfaultfd: 282,
      kexec_file_load: 294,
      io_uring_setup: 425,
      io_uring_enter: 426,
      io_uring_register: 427,
      open_tree: 428,
      move_mount: 429,
      fsopen: 430,
      fsconfig: 431,
      fsmount: 432,
      fspick: 433,
      clone3: 435,
      pidfd_getfd: 438,
      mount_setattr: 442,
    },
    absent: ['modify_ldt'],
  },
}

// Namespace flags refused in clone(2)'s flags (NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET).
const CLONE_NAMESPACE_FLAGS = 0x7e020000
const TIOCSTI = 0x5412 // push a byte into a terminal's input queue: typing commands into the host's shell
const TIOCLINUX = 0x541c // can do the same on a virtual console
const PERSONALITY_QUERY = 0xffffffff
const PER_LINUX = 0

const SECCOMP_RET_KILL_PROCESS = 0x80000000
const SECCOMP_RET_ERRNO = 0x00050000
const SECCOMP_RET_ALLOW = 0x7fff0000
const EPERM = 1
const ENOSYS = 38

// struct seccomp_data: int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6] (little-endian).
const OFFSET_NR = 0
const OFFSET_ARCH = 4
const argLow = (index: number) => 16 + 8 * index

const BPF_LD_W_ABS = 0x20
const BPF_JEQ_K = 0x15
const BPF_JGE_K = 0x35
const BPF_JSET_K = 0x45
const BPF_RET_K = 0x06

type Label = string
type Instruction =
  | { op: 'load'; offset: number }
  | { op: 'jeq' | 'jge' | 'jset'; k: number; jt: Label | null; jf: Label | null }
  | { op: 'ret'; k: number }
  | { op: 'label'; name: Label }

/** Size of one `struct sock_filter` in bytes. */
export const SOCK_FILTER_BYTES = 8

/**
 * Builds the sandbox's seccomp program for `arch`: a little-endian array of `struct sock_filter`
 * that bwrap loads with `--seccomp FD`. It kills the process on a foreign architecture or ABI
 * (i386 `int 0x80`, x32), answers EPERM for {@link SECCOMP_DENIED_SYSCALLS}, for clone(2) with
 * namespace flags, for the TIOCSTI/TIOCLINUX ioctls and for personality(2) other than PER_LINUX,
 * answers ENOSYS for clone3 (its flags are behind a pointer BPF cannot read; libc falls back to
 * clone), and allows everything else. Throws INVALID_OPTIONS for an architecture without a table.
 */
export function buildSeccompFilter(arch: string = process.arch): Buffer {
  if (arch !== 'x64' && arch !== 'arm64') {
    throw new SandboxError(
      'INVALID_OPTIONS',
      `no seccomp syscall table for architecture ${arch} (x64 and arm64 only)`,
    )
  }
  const table = ARCH_TABLES[arch]
  const nr = (name: string): number => {
    const value = table.numbers[name]
    if (value === undefined) throw new Error(`seccomp table for ${arch} lacks ${name}`)
    return value
  }
  const program: Instruction[] = [
    { op: 'load', offset: OFFSET_ARCH },
    { op: 'jeq', k: table.auditArch, jt: null, jf: 'kill' },
    { op: 'load', offset: OFFSET_NR },
  ]
  if (table.foreignAbiBase !== undefined) {
    program.push({ op: 'jge', k: table.foreignAbiBase, jt: 'kill', jf: null })
  }
  for (const name of Object.keys(SECCOMP_DENIED_SYSCALLS)) {
    if (table.absent.includes(name)) continue
    program.push({ op: 'jeq', k: nr(name), jt: 'eperm', jf: null })
  }
  program.push(
    { op: 'jeq', k: nr('clone3'), jt: 'enosys', jf: null },
    { op: 'jeq', k: nr('clone'), jt: 'clone', jf: null },
    { op: 'jeq', k: nr('ioctl'), jt: 'ioctl', jf: null },
    { op: 'jeq', k: nr('personality'), jt: 'personality', jf: null },
    { op: 'ret', k: SECCOMP_RET_ALLOW },
    // The kernel reads clone's flags, ioctl's request and personality's persona as 32-bit values,
    // so checking the low word of each argument is exact.
    { op: 'label', name: 'clone' },
    { op: 'load', offset: argLow(0) },
    { op: 'jset', k: CLONE_NAMESPACE_FLAGS, jt: 'eperm', jf: 'allow' },
    { op: 'label', name: 'ioctl' },
    { op: 'load', offset: argLow(1) },
    { op: 'jeq', k: TIOCSTI, jt: 'eperm', jf: null },
    { op: 'jeq', k: TIOCLINUX, jt: 'eperm', jf: 'allow' },
    { op: 'label', name: 'personality' },
    { op: 'load', offset: argLow(0) },
    { op: 'jeq', k: PER_LINUX, jt: 'allow', jf: null },
    { op: 'jeq', k: PERSONALITY_QUERY, jt: 'allow', jf: 'eperm' },
    { op: 'label', name: 'allow' },
    { op: 'ret', k: SECCOMP_RET_ALLOW },
    { op: 'label', name: 'eperm' },
    { op: 'ret', k: SECCOMP_RET_ERRNO | EPERM },
    { op: 'label', name: 'enosys' },
    { op: 'ret', k: SECCOMP_RET_ERRNO | ENOSYS },
    { op: 'label', name: 'kill' },
    { op: 'ret', k: SECCOMP_RET_KILL_PROCESS },
  )
  return assemble(program)
}

/** Resolves labels to forward jump offsets and encodes each instruction as a sock_filter. */
function assemble(program: Instruction[]): Buffer {
  const labels = new Map<Label, number>()
  let index = 0
  for (const instruction of program) {
    if (instruction.op === 'label') labels.set(instruction.name, index)
    else index += 1
  }
  const out = Buffer.alloc(index * SOCK_FILTER_BYTES)
  index = 0
  for (const instruction of program) {
    if (instruction.op === 'label') continue
    const at = index * SOCK_FILTER_BYTES
    const jump = (target: Label | null): number => {
      if (target === null) return 0
      const offset = labels.get(target)! - index - 1
      // cBPF jumps are forward-only and 8 bits wide.
      if (offset < 0 || offset > 255) throw new Error(`seccomp jump to ${target} out of range (${offset})`)
      return offset
    }
    let code: number
    let jt = 0
    let jf = 0
    let k: number
    switch (instruction.op) {
      case 'load':
        code = BPF_LD_W_ABS
        k = instruction.offset
        break
      case 'ret':
        code = BPF_RET_K
        k = instruction.k
        break
      default:
        code = instruction.op === 'jeq' ? BPF_JEQ_K : instruction.op === 'jge' ? BPF_JGE_K : BPF_JSET_K
        jt = jump(instruction.jt)
        jf = jump(instruction.jf)
        k = instruction.k
    }
    out.writeUInt16LE(code, at)
    out.writeUInt8(jt, at + 2)
    out.writeUInt8(jf, at + 3)
    out.writeUInt32LE(k >>> 0, at + 4)
    index += 1
  }
  return out
}

/**
 * The syscall number of `name` on `arch` in the filter's tables, or undefined when the table has none
 * (for tests and docs; `modify_ldt` does not exist on aarch64).
 */
export function seccompSyscallNumber(arch: SeccompArch, name: string): number | undefined {
  return ARCH_TABLES[arch].numbers[name]
}

/** The AUDIT_ARCH_* value the filter accepts on `arch`. */
export function seccompAuditArch(arch: SeccompArch): number {
  return ARCH_TABLES[arch].auditArch
}

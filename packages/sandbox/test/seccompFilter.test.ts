import { describe, expect, test } from 'vitest'
import {
  buildSeccompFilter,
  SECCOMP_DENIED_SYSCALLS,
  type SeccompArch,
  SOCK_FILTER_BYTES,
  seccompAuditArch,
  seccompSyscallNumber,
} from '../src/index.js'

const ALLOW = 0x7fff0000
const KILL_PROCESS = 0x80000000
const errno = (n: number) => 0x00050000 | n
const EPERM = errno(1)
const ENOSYS = errno(38)

/** A classic-BPF interpreter for the instructions seccomp programs use, run on a seccomp_data. */
function evaluate(program: Buffer, data: { nr: number; arch: number; args?: bigint[] }): number {
  const packet = Buffer.alloc(64)
  packet.writeInt32LE(data.nr, 0)
  packet.writeUInt32LE(data.arch, 4)
  for (const [i, arg] of (data.args ?? []).entries()) packet.writeBigUInt64LE(arg, 16 + 8 * i)
  let a = 0
  for (let pc = 0; pc < program.length / SOCK_FILTER_BYTES; ) {
    const at = pc * SOCK_FILTER_BYTES
    const code = program.readUInt16LE(at)
    const jt = program.readUInt8(at + 2)
    const jf = program.readUInt8(at + 3)
    const k = program.readUInt32LE(at + 4)
    switch (code) {
      case 0x20:
        a = packet.readUInt32LE(k)
        pc += 1
        break
      case 0x15:
        pc += 1 + (a === k ? jt : jf)
        break
      case 0x35:
        pc += 1 + (a >= k ? jt : jf)
        break
      case 0x45:
        pc += 1 + ((a & k) !== 0 ? jt : jf)
        break
      case 0x06:
        return k
      default:
        throw new Error(`unexpected opcode ${code.toString(16)}`)
    }
  }
  throw new Error('program fell off its end')
}

describe.each(['x64', 'arm64'] as SeccompArch[])('the seccomp program for %s', (arch) => {
  const program = buildSeccompFilter(arch)
  const native = seccompAuditArch(arch)
  const run = (name: string, args: bigint[] = []) =>
    evaluate(program, { nr: seccompSyscallNumber(arch, name)!, arch: native, args })

  test('is a whole number of sock_filter entries within the kernel’s 4096-instruction cap', () => {
    expect(program.length % SOCK_FILTER_BYTES).toBe(0)
    expect(program.length / SOCK_FILTER_BYTES).toBeLessThan(4096)
  })

  test('answers EPERM to every denied syscall the architecture has', () => {
    const absent: string[] = []
    for (const name of Object.keys(SECCOMP_DENIED_SYSCALLS)) {
      if (seccompSyscallNumber(arch, name) === undefined) absent.push(name)
      else expect([name, run(name)]).toEqual([name, EPERM])
    }
    expect(absent).toEqual(arch === 'arm64' ? ['modify_ldt'] : [])
  })

  test('refuses modify_ldt (x86_64 only), kcmp and pidfd_getfd', () => {
    for (const name of ['kcmp', 'pidfd_getfd', ...(arch === 'x64' ? ['modify_ldt'] : [])]) {
      expect([name, run(name)]).toEqual([name, EPERM])
    }
  })

  test('allows ordinary syscalls and syscalls outside its tables', () => {
    expect(evaluate(program, { nr: 0, arch: native })).toBe(ALLOW)
    expect(evaluate(program, { nr: 63, arch: native })).toBe(ALLOW)
    expect(evaluate(program, { nr: 999, arch: native })).toBe(ALLOW)
  })

  test('kills a process calling through a foreign architecture', () => {
    const foreign = arch === 'x64' ? 0x40000003 /* AUDIT_ARCH_I386 */ : 0x40000028 /* AUDIT_ARCH_ARM */
    expect(evaluate(program, { nr: seccompSyscallNumber(arch, 'ptrace')!, arch: foreign })).toBe(KILL_PROCESS)
    expect(evaluate(program, { nr: 0, arch: foreign })).toBe(KILL_PROCESS)
  })

  test('refuses clone with namespace flags and lets a plain fork or thread through', () => {
    const SIGCHLD = 17n
    expect(run('clone', [0x10000000n | SIGCHLD])).toBe(EPERM) // CLONE_NEWUSER
    expect(run('clone', [0x40000000n | SIGCHLD])).toBe(EPERM) // CLONE_NEWNET
    expect(run('clone', [0x00020000n])).toBe(EPERM) // CLONE_NEWNS
    expect(run('clone', [SIGCHLD])).toBe(ALLOW)
    expect(run('clone', [0x3d0f00n])).toBe(ALLOW) // glibc's pthread_create flags
    expect(run('clone3')).toBe(ENOSYS)
  })

  test('refuses the TIOCSTI and TIOCLINUX ioctls, even with junk in the high bits, and allows others', () => {
    expect(run('ioctl', [0n, 0x5412n])).toBe(EPERM)
    expect(run('ioctl', [0n, 0xffffffff00005412n])).toBe(EPERM)
    expect(run('ioctl', [0n, 0x541cn])).toBe(EPERM)
    expect(run('ioctl', [0n, 0x5401n])).toBe(ALLOW) // TCGETS
  })

  test('allows only the default persona and the query', () => {
    expect(run('personality', [0n])).toBe(ALLOW)
    expect(run('personality', [0xffffffffn])).toBe(ALLOW)
    expect(run('personality', [0x0040000n])).toBe(EPERM) // ADDR_NO_RANDOMIZE
    expect(run('personality', [0x0400000n])).toBe(EPERM) // READ_IMPLIES_EXEC
  })
})

describe('buildSeccompFilter', () => {
  test('kills an x32-ABI syscall on x86_64', () => {
    const program = buildSeccompFilter('x64')
    expect(evaluate(program, { nr: 0x40000000 + 101, arch: seccompAuditArch('x64') })).toBe(KILL_PROCESS)
  })

  test('uses the real syscall numbers of each architecture', () => {
    expect(seccompSyscallNumber('x64', 'ptrace')).toBe(101)
    expect(seccompSyscallNumber('arm64', 'ptrace')).toBe(117)
    expect(seccompSyscallNumber('x64', 'io_uring_setup')).toBe(425)
    expect(seccompSyscallNumber('x64', 'modify_ldt')).toBe(154)
    expect(seccompSyscallNumber('x64', 'kcmp')).toBe(312)
    expect(seccompSyscallNumber('arm64', 'kcmp')).toBe(272)
    expect(seccompSyscallNumber('x64', 'pidfd_getfd')).toBe(438)
    expect(seccompSyscallNumber('arm64', 'pidfd_getfd')).toBe(438)
    expect(seccompSyscallNumber('arm64', 'modify_ldt')).toBeUndefined()
    expect(seccompAuditArch('x64')).toBe(0xc000003e)
    expect(seccompAuditArch('arm64')).toBe(0xc00000b7)
  })

  test('refuses an architecture it has no table for', () => {
    expect(() => buildSeccompFilter('riscv64')).toThrow(/no seccomp syscall table for architecture riscv64/)
  })
})

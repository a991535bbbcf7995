// The worker sandbox lives in @capsule/sandbox (shared with @capsule/providers-shell, which must not
// import core). Core re-exports it under the names it always had; packages/core/src/index.ts picks the
// public ones.
export type { SandboxProbe, SandboxUnavailableReason } from '@capsule/sandbox'
export { MIN_BWRAP_VERSION, probeSandbox, sandboxUnavailableError } from '@capsule/sandbox'
export type { HostFilesystem, SandboxCommand, SandboxMount, SandboxRequest } from '@capsule/sandbox'
export {
  buildSandboxCommand,
  DEFAULT_SHM_SIZE_BYTES,
  realHostFilesystem,
  SANDBOX_GID,
  SANDBOX_HOSTNAME,
  SANDBOX_UID,
} from '@capsule/sandbox'
export type { SandboxLimits } from '@capsule/sandbox'
export {
  applyLimitsCommand,
  DEFAULT_PRLIMIT_PATH,
  DEFAULT_SANDBOX_LIMITS,
  rlimitsEnv,
  validateSandboxLimits,
} from '@capsule/sandbox'
export type { SeccompFd } from '@capsule/sandbox'
export { openSeccompFd } from '@capsule/sandbox'
export type { SeccompArch } from '@capsule/sandbox'
export {
  buildSeccompFilter,
  SECCOMP_DENIED_SYSCALLS,
  SOCK_FILTER_BYTES,
  seccompAuditArch,
  seccompSyscallNumber,
} from '@capsule/sandbox'
export type { WorkerCgroup, WorkerCgroupOptions } from '@capsule/sandbox'
export { createWorkerCgroup } from '@capsule/sandbox'

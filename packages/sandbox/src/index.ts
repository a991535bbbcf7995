// Public API of @capsule/sandbox: the bubblewrap command line, availability probe, seccomp program,
// resource limits, cgroups and the host identity of sandboxed processes. Named exports only.
export type { SandboxProbe, SandboxUnavailableReason } from './probeSandbox.js'
export { MIN_BWRAP_VERSION, probeSandbox, sandboxUnavailableError } from './probeSandbox.js'
export type { HostFilesystem, SandboxCommand, SandboxMount, SandboxRequest } from './sandboxCommand.js'
export {
  buildSandboxCommand,
  DEFAULT_SHM_SIZE_BYTES,
  realHostFilesystem,
  SANDBOX_GID,
  SANDBOX_HOSTNAME,
  SANDBOX_UID,
} from './sandboxCommand.js'
export type { SandboxLimits } from './sandboxLimits.js'
export {
  applyLimitsCommand,
  DEFAULT_PRLIMIT_PATH,
  DEFAULT_SANDBOX_LIMITS,
  rlimitsEnv,
  validateSandboxLimits,
} from './sandboxLimits.js'
export type { SeccompFd } from './seccompFd.js'
export { openSeccompFd } from './seccompFd.js'
export type { SeccompArch } from './seccompFilter.js'
export {
  buildSeccompFilter,
  SECCOMP_DENIED_SYSCALLS,
  SOCK_FILTER_BYTES,
  seccompAuditArch,
  seccompSyscallNumber,
} from './seccompFilter.js'
export type { WorkerCgroup, WorkerCgroupOptions } from './workerCgroup.js'
export { createWorkerCgroup } from './workerCgroup.js'
export type { SandboxErrorCode, SandboxErrorOptions } from './sandboxError.js'
export { CAPSULE_ERROR_BRAND, SandboxError } from './sandboxError.js'

// Public API of @capsule/sandbox: the bubblewrap command line, availability probe, seccomp program,
// resource limits, cgroups and the host identity of sandboxed processes. Named exports only.
export type { SandboxProbe, SandboxUnavailableReason } from './probeSandbox.js'
export { MIN_BWRAP_VERSION, probeSandbox, sandboxUnavailableError } from './probeSandbox.js'
export type { ProcHardening } from './procHardening.js'
export { PROC_MASKED_PATHS, PROC_READ_ONLY_PATHS, procHardeningArgs } from './procHardening.js'
export type { HostFilesystem, SandboxCommand, SandboxMount, SandboxRequest } from './sandboxCommand.js'
export {
  BWRAP_ISOLATION_ARGS,
  buildSandboxCommand,
  DEFAULT_SHM_SIZE_BYTES,
  realHostFilesystem,
  resolveReadOnlyBinds,
  SANDBOX_GID,
  SANDBOX_HOSTNAME,
  SANDBOX_UID,
} from './sandboxCommand.js'
export type { SandboxErrorCode, SandboxErrorOptions } from './sandboxError.js'
export { CAPSULE_ERROR_BRAND, SandboxError } from './sandboxError.js'
export {
  generatedEtcDir,
  generatedEtcFiles,
  SANDBOX_ETC_BINDS,
  SANDBOX_USER_NAME,
  sandboxEtcArgs,
} from './sandboxEtc.js'
export type { EtcCopy, EtcCopyRequest, EtcMountPoint } from './sandboxEtcCopy.js'
export { etcCopyIsCurrent, prepareEtcCopy } from './sandboxEtcCopy.js'
export type { SandboxLimits } from './sandboxLimits.js'
export {
  ADDRESS_SPACE_HEADROOM_BYTES,
  applyLimitsCommand,
  DEFAULT_PRLIMIT_PATH,
  DEFAULT_SANDBOX_LIMITS,
  memoryLimitEnv,
  rlimitsEnv,
  validateSandboxLimits,
  WORKER_MALLOC_ARENA_MAX,
  WORKER_THREAD_STACK_BYTES,
} from './sandboxLimits.js'
export type {
  SandboxIdentity,
  SandboxUidLease,
  SandboxUserOptions,
} from './sandboxUidPool.js'
export {
  DEFAULT_SANDBOX_GID,
  DEFAULT_SANDBOX_LEASE_DIR,
  DEFAULT_SANDBOX_UIDS,
  hostRunsAsRoot,
  SandboxUidPool,
} from './sandboxUidPool.js'
export type { SeccompFd, SeccompSource } from './seccompFd.js'
export { createSeccompSource, openDefaultSeccompFd, openSeccompFd } from './seccompFd.js'
export type { SeccompArch } from './seccompFilter.js'
export {
  buildSeccompFilter,
  SECCOMP_DENIED_SYSCALLS,
  SOCK_FILTER_BYTES,
  seccompAuditArch,
  seccompSyscallNumber,
} from './seccompFilter.js'
export type { PathNeed } from './unreachablePaths.js'
export { unreachablePaths } from './unreachablePaths.js'
export type { WorkerCgroup, WorkerCgroupOptions } from './workerCgroup.js'
export { createWorkerCgroup, removeStaleWorkerCgroups } from './workerCgroup.js'

import { expect, test } from 'vitest'
import * as sandbox from '../src/index.js'

// The surface @capsule/core and @capsule/providers-shell build on: it changes only on purpose.
test('the runtime exports of @capsule/sandbox are exactly these', () => {
  expect(Object.keys(sandbox).sort()).toMatchInlineSnapshot(`
    [
      "ADDRESS_SPACE_HEADROOM_BYTES",
      "CAPSULE_ERROR_BRAND",
      "DEFAULT_PRLIMIT_PATH",
      "DEFAULT_SANDBOX_GID",
      "DEFAULT_SANDBOX_LEASE_DIR",
      "DEFAULT_SANDBOX_LIMITS",
      "DEFAULT_SANDBOX_UIDS",
      "DEFAULT_SHM_SIZE_BYTES",
      "MIN_BWRAP_VERSION",
      "PROC_MASKED_PATHS",
      "PROC_READ_ONLY_PATHS",
      "SANDBOX_ETC_BINDS",
      "SANDBOX_GID",
      "SANDBOX_HOSTNAME",
      "SANDBOX_UID",
      "SANDBOX_USER_NAME",
      "SECCOMP_DENIED_SYSCALLS",
      "SOCK_FILTER_BYTES",
      "SandboxError",
      "SandboxUidPool",
      "WORKER_MALLOC_ARENA_MAX",
      "WORKER_THREAD_STACK_BYTES",
      "applyLimitsCommand",
      "buildSandboxCommand",
      "buildSeccompFilter",
      "createSeccompSource",
      "createWorkerCgroup",
      "generatedEtcDir",
      "generatedEtcFiles",
      "hostRunsAsRoot",
      "memoryLimitEnv",
      "openSeccompFd",
      "probeSandbox",
      "procHardeningArgs",
      "realHostFilesystem",
      "removeStaleWorkerCgroups",
      "resolveReadOnlyBinds",
      "rlimitsEnv",
      "sandboxEtcArgs",
      "sandboxUnavailableError",
      "seccompAuditArch",
      "seccompSyscallNumber",
      "unreachablePaths",
      "validateSandboxLimits",
    ]
  `)
})

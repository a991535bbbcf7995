import { readFileSync } from 'node:fs'
import path from 'node:path'
import ts from 'typescript'
import { expect, test } from 'vitest'
import * as core from '../src/index.js'
import * as sandbox from '../src/sandbox/index.js'

const SRC = path.resolve(import.meta.dirname, '../src')

/**
 * The type-only names an entry exports (`export type { A }`, `export { type B }`), read from its source
 * with the TypeScript parser: entries use named exports only, so the source is the surface.
 */
function typeExports(entry: string): string[] {
  const file = path.join(SRC, entry)
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true)
  const names: string[] = []
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement)) {
      const clause = statement.exportClause
      expect(clause && ts.isNamedExports(clause), `${entry} uses \`export *\``).toBe(true)
      for (const element of (clause as ts.NamedExports).elements) {
        if (statement.isTypeOnly || element.isTypeOnly) names.push(element.name.text)
      }
    } else if (
      (ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement)) &&
      statement.modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)
    ) {
      names.push(statement.name.text)
    }
  }
  return names.sort()
}

// The public surface of @capsule/core: a change here is a visible diff, made on purpose.
test('the runtime exports of @capsule/core are exactly these', () => {
  expect(Object.keys(core).sort()).toMatchInlineSnapshot(`
    [
      "CAPSULE_CONFIG_FILES",
      "CAPSULE_ERROR_CODES",
      "CallOrdinals",
      "CapabilityRegistry",
      "Capsule",
      "CapsuleError",
      "DEFAULT_LIMITS",
      "DEFAULT_POOL_OPTIONS",
      "INPUT_CAPABILITY_ID",
      "JOURNAL_STATES",
      "JournalWaiters",
      "MAX_JOURNAL_KEY_LENGTH",
      "MemoryPromiseStore",
      "PROTOCOL_VERSION",
      "SECURITY_LEVELS",
      "SENSITIVE_KEYS",
      "SecurityPolicy",
      "Session",
      "SessionPool",
      "callKey",
      "canonicalHash",
      "canonicalJson",
      "capsuleConfigSchema",
      "checkResettle",
      "compareLevels",
      "decodeJournalValue",
      "decodeOutcome",
      "encodeJournalValue",
      "encodeSettlement",
      "executionWaitKey",
      "findCapsuleConfig",
      "hashCode",
      "isCapsuleError",
      "journalErrors",
      "journalInput",
      "loadCapsuleConfig",
      "memoryJournal",
      "parseJournalState",
      "probePythonInterpreter",
      "probeSandbox",
      "promiseWaitKey",
      "readCapsuleConfigFile",
      "redactForAudit",
      "systemClock",
    ]
  `)
})

test('the type exports of @capsule/core are exactly these', () => {
  expect(typeExports('index.ts')).toMatchInlineSnapshot(`
    [
      "AuditEntry",
      "AuditSink",
      "CallInit",
      "CallRecord",
      "CapabilityDescriptor",
      "CapsuleConfig",
      "CapsuleConfigFile",
      "CapsuleErrorCode",
      "CapsuleErrorOptions",
      "CapsuleInfo",
      "CapsuleOptions",
      "CheckpointInit",
      "CheckpointRecord",
      "Clock",
      "CodecName",
      "Created",
      "DisplayOutput",
      "DurableSessionRecord",
      "EncodedSettlement",
      "ExecuteOptions",
      "ExecutionEvent",
      "ExecutionInit",
      "ExecutionRecord",
      "ExecutionResult",
      "ExecutionStatus",
      "ExecutionTimeoutDetails",
      "FinalJournalState",
      "GrantOptions",
      "HitlPromiseFilter",
      "HitlPromiseInit",
      "HitlPromiseKind",
      "HitlPromiseRecord",
      "InputEvent",
      "InputHandler",
      "Journal",
      "JournalInfo",
      "JournalState",
      "JournalWaitOptions",
      "JournalWaitersHooks",
      "Lease",
      "LeaseClaim",
      "LeaseToken",
      "Limits",
      "LoadCapsuleConfigOptions",
      "MemoryJournal",
      "MemoryJournalOptions",
      "MimeBundle",
      "PolicyDecision",
      "PoolMember",
      "PoolMetrics",
      "PoolOptions",
      "PromiseControl",
      "PromiseInit",
      "PromiseKind",
      "PromiseOutcome",
      "PromiseRecord",
      "PromiseState",
      "PromiseStore",
      "ProviderFactory",
      "ProviderFactoryContext",
      "ProviderModuleEntry",
      "PythonError",
      "PythonInterpreterInfo",
      "RegisteredCapability",
      "RejectedJournalState",
      "SandboxMode",
      "SandboxMount",
      "SandboxProbe",
      "SandboxUnavailableReason",
      "SandboxUserOptions",
      "SecurityLevel",
      "SessionInfo",
      "SessionInit",
      "SessionOptions",
      "SessionState",
      "Settled",
      "SettledFields",
      "Settlement",
    ]
  `)
})

test('the runtime exports of @capsule/core/sandbox are exactly these', () => {
  expect(Object.keys(sandbox).sort()).toMatchInlineSnapshot(`
    [
      "DEFAULT_PRLIMIT_PATH",
      "DEFAULT_SANDBOX_GID",
      "DEFAULT_SANDBOX_LEASE_DIR",
      "DEFAULT_SANDBOX_LIMITS",
      "DEFAULT_SANDBOX_UIDS",
      "DEFAULT_SHM_SIZE_BYTES",
      "MIN_BWRAP_VERSION",
      "SANDBOX_GID",
      "SANDBOX_HOSTNAME",
      "SANDBOX_UID",
      "SECCOMP_DENIED_SYSCALLS",
      "SOCK_FILTER_BYTES",
      "SandboxUidPool",
      "applyLimitsCommand",
      "buildSandboxCommand",
      "buildSeccompFilter",
      "createWorkerCgroup",
      "hostRunsAsRoot",
      "openSeccompFd",
      "probeSandbox",
      "realHostFilesystem",
      "removeStaleWorkerCgroups",
      "rlimitsEnv",
      "sandboxUnavailableError",
      "seccompAuditArch",
      "seccompSyscallNumber",
      "validateSandboxLimits",
    ]
  `)
})

test('the type exports of @capsule/core/sandbox are exactly these', () => {
  expect(typeExports('sandbox/index.ts')).toMatchInlineSnapshot(`
    [
      "HostFilesystem",
      "SandboxCommand",
      "SandboxIdentity",
      "SandboxLimits",
      "SandboxMount",
      "SandboxProbe",
      "SandboxRequest",
      "SandboxUidLease",
      "SandboxUnavailableReason",
      "SandboxUserOptions",
      "SeccompArch",
      "SeccompFd",
      "WorkerCgroup",
      "WorkerCgroupOptions",
    ]
  `)
})

test('the package exports both entries, from source under the @capsule/source condition', () => {
  const manifest = JSON.parse(readFileSync(path.resolve(SRC, '../package.json'), 'utf8'))
  expect(manifest.exports['.']['@capsule/source']).toBe('./src/index.ts')
  expect(manifest.exports['./sandbox']).toEqual({
    '@capsule/source': './src/sandbox/index.ts',
    types: './dist/sandbox/index.d.ts',
    default: './dist/sandbox/index.js',
  })
})

test('the type reader sees `export type`, inline `type` specifiers and declared types, not values', () => {
  expect(typeExports('sandbox/sandboxUserSchema.ts')).toEqual([])
  expect(typeExports('index.ts')).not.toContain('Capsule')
  expect(typeExports('index.ts')).toContain('CapsuleOptions')
})

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
      "CHECKPOINT_FORMAT",
      "CapabilityRegistry",
      "Capsule",
      "CapsuleError",
      "DEFAULT_LEASE_TTL_MS",
      "DEFAULT_LIMITS",
      "DEFAULT_MAX_CHECKPOINT_BYTES",
      "DEFAULT_POOL_OPTIONS",
      "INPUT_CAPABILITY_ID",
      "JOURNAL_STATES",
      "MemoryPromiseStore",
      "PROTOCOL_VERSION",
      "SECURITY_LEVELS",
      "SENSITIVE_KEYS",
      "SecurityPolicy",
      "Session",
      "SessionPool",
      "capsuleConfigSchema",
      "compareLevels",
      "findCapsuleConfig",
      "isCapsuleError",
      "loadCapsuleConfig",
      "memoryJournal",
      "probePythonInterpreter",
      "probeSandbox",
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
      "Checkpoint",
      "CheckpointHeader",
      "CheckpointInit",
      "CheckpointRecord",
      "CheckpointRefusal",
      "Clock",
      "CodecName",
      "Created",
      "DisplayOutput",
      "DurableExecutionFacts",
      "DurableExecutionResult",
      "DurableRunOptions",
      "DurableSessionRecord",
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
      "JournalPromiseControl",
      "JournalState",
      "JournalWaitOptions",
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
      "RecoveredSession",
      "RecoveryReport",
      "RegisteredCapability",
      "RejectedJournalState",
      "ReplayDivergence",
      "RestoreReport",
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
      "UnconsumedCall",
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

test('the runtime exports of @capsule/core/journal (for journal implementations) are exactly these', async () => {
  const journal = await import('../src/journal/index.js')
  expect(Object.keys(journal).sort()).toMatchInlineSnapshot(`
    [
      "CallOrdinals",
      "JOURNAL_STATES",
      "JournalWaiters",
      "MAX_JOURNAL_KEY_LENGTH",
      "callKey",
      "canonicalHash",
      "canonicalJson",
      "checkResettle",
      "decodeJournalValue",
      "decodeOutcome",
      "encodeJournalValue",
      "encodeSettlement",
      "executionWaitKey",
      "hashCode",
      "journalErrors",
      "journalFromStore",
      "journalGuards",
      "journalInput",
      "journalRows",
      "memoryJournal",
      "parseJournalState",
      "promiseWaitKey",
    ]
  `)
})

test('the package exports the journal toolkit as @capsule/core/journal', () => {
  const manifest = JSON.parse(readFileSync(path.resolve(SRC, '../package.json'), 'utf8'))
  expect(manifest.exports['./journal']).toEqual({
    '@capsule/source': './src/journal/index.ts',
    types: './dist/journal/index.d.ts',
    default: './dist/journal/index.js',
  })
})

test('the type reader sees `export type`, inline `type` specifiers and declared types, not values', () => {
  expect(typeExports('sandbox/sandboxUserSchema.ts')).toEqual([])
  expect(typeExports('index.ts')).not.toContain('Capsule')
  expect(typeExports('index.ts')).toContain('CapsuleOptions')
})

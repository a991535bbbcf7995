import type { SandboxMode } from '@capsule/core'
import type { CapabilityErrorCode, ProviderDefinition } from '@capsule/provider-sdk'

/** Arguments of one capability call, keyed by parameter name. */
export type CallArgs = Record<string, unknown>

/**
 * Arguments as a fixture gives them: a value, or a function called before every use (for calls that
 * consume something, e.g. deleting a file the function has just created).
 */
export type ArgsFixture = CallArgs | (() => CallArgs | Promise<CallArgs>)

/** A call that fails on purpose, and the code it must fail with. */
export interface ErrorCaseFixture {
  args: ArgsFixture
  code: CapabilityErrorCode
}

/** The calls the contract makes to one capability. */
export interface CapabilityFixture {
  /** A call that succeeds. It is made many times (50 at once among them), so it must be repeatable. */
  valid: ArgsFixture
  /**
   * Arguments the input schema must reject. Default: the valid call with its first required string,
   * number or boolean parameter (else its first optional one) replaced by a value of another type. Use
   * the capability's parameter names only: Python refuses unknown keywords itself, before the host sees
   * the call. `null` declares that no arguments are invalid (an empty input schema): the requirement is
   * then skipped with that reason.
   */
  invalid?: ArgsFixture | null
  /** A call the provider's own rules refuse (DENIED), e.g. a path outside the root. */
  denied?: ArgsFixture
  /** A call that takes at least 2 s unless its signal is aborted. */
  slow?: ArgsFixture
  /**
   * Why the capability has no call that can be slow, when it has no `slow` fixture (e.g. "a bounded
   * sequence of local system calls"). One of the two is required: without either, `contract.coverage`
   * fails, because the cancellation requirement is the one that catches a handler ignoring its signal.
   */
  noSlowCall?: string
  /**
   * A call that reports progress through `ctx.progress()`. When given, the progress requirement needs it
   * to report at least once; without it the requirement checks whatever progress the valid call reports.
   */
  progress?: ArgsFixture
  /**
   * A call whose arguments carry `secret` (a fresh random string) where a credential belongs: an
   * argument listed in `secretArgs`, an `Authorization` header. The contract checks that it never reaches
   * the audit log or the host's log verbatim. Required when the capability declares `secretArgs`.
   */
  secret?: (secret: string) => CallArgs | Promise<CallArgs>
  /** Other calls that fail on purpose, with their codes (NOT_FOUND, LIMIT_EXCEEDED, …). */
  errors?: readonly ErrorCaseFixture[]
  /** Extra checks of the valid call's result (after the output schema); throw to fail. */
  check?: (output: unknown) => void | Promise<void>
}

/** A provider, or a function that builds one (called after `setup`). */
export type ProviderSource = ProviderDefinition | (() => ProviderDefinition | Promise<ProviderDefinition>)

/** Everything `runProviderContract` needs besides the provider. */
export interface ProviderFixtures {
  /** One fixture per capability, keyed by the capability's name inside the provider (`get`, not `kv.get`). */
  capabilities: Record<string, CapabilityFixture>
  /** Runs once before the provider is built (create temp dirs, seed files). */
  setup?: () => void | Promise<void>
  /** Runs once after every test (remove temp dirs). */
  teardown?: () => void | Promise<void>
  /**
   * Observes the state the provider acts on (a directory listing, a store's contents). The contract
   * compares it before and after calls that must have no effect. Default: no observation.
   */
  snapshot?: () => unknown | Promise<unknown>
  /** The Python interpreter of the end-to-end tests (default: `CAPSULE_PYTHON`, else `python3`). */
  python?: string
  /** The worker sandbox of the end-to-end tests (default `none`). */
  sandbox?: SandboxMode
}

/** Options of `runProviderContract`. */
export interface ProviderContractOptions {
  /** The title of the describe block (default `provider contract: <provider name>`, or the given name). */
  title?: string
  /** The small `callTimeoutMs` of the CapabilityTimeout check, in ms (default 300). */
  callTimeoutMs?: number
}

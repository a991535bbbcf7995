import { buildSeccompFilter } from '@capsule/sandbox'
import { findBwrap, probeBwrap } from './bwrapSandbox.js'
import { type ResolvedRoot, realpathLenient } from './pathGuard.js'
import { configError, DEFAULT_SEARCH_PATH, type ParsedShellProviderOptions } from './shellProviderOptions.js'
import {
  checkShellSandboxReach,
  chooseShellSandboxUser,
  representativeIdentity,
  ShellSandboxRunner,
} from './shellSandboxUser.js'

/** Which isolation a shell provider runs its commands in. */
export type ShellSandbox = 'bwrap' | 'none'

/** The isolation settled at configuration: bubblewrap with its runner, or none and why. */
export type SandboxChoice =
  | { kind: 'bwrap'; bwrap: string; runner: ShellSandboxRunner }
  | { kind: 'none'; why?: string }

/**
 * Chooses bubblewrap when it is present and works for the commands' user, else no sandbox — unless the
 * options demand bubblewrap, which makes its absence a configuration error.
 */
export function chooseSandbox(
  parsed: ParsedShellProviderOptions,
  roots: readonly ResolvedRoot[],
  programs: readonly string[],
): SandboxChoice {
  if (parsed.sandbox === 'none') return { kind: 'none', why: 'chosen by the host' }
  const bwrap = findBwrap(DEFAULT_SEARCH_PATH)
  const truePath =
    ['/usr/bin/true', '/bin/true'].find((p) => realpathLenient(p, '/') !== undefined) ?? '/usr/bin/true'
  // Who the commands are is settled first: a root host that cannot give them another user is an error
  // to fix, never a reason to run them as root.
  const user = bwrap === undefined ? undefined : chooseShellSandboxUser(parsed.sandboxUser, roots)
  const failure =
    bwrap === undefined || user === undefined
      ? 'bwrap not found'
      : probeBwrap(bwrap, truePath, representativeIdentity(user))
  if (failure === undefined && bwrap !== undefined && user !== undefined) {
    checkShellSandboxReach(user, roots, programs)
    return { kind: 'bwrap', bwrap, runner: new ShellSandboxRunner(user, buildSeccompFilter()) }
  }
  if (parsed.sandbox === 'bwrap')
    configError(`options.sandbox is "bwrap" but bubblewrap is unavailable: ${failure}`)
  return { kind: 'none', why: `bubblewrap unavailable: ${failure}` }
}

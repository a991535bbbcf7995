/** Environment variable names never passed to a command, even when listed in `envAllow`. */
export const FORBIDDEN_ENV_NAMES: readonly string[] = [
  'PATH',
  'HOME',
  'LANG',
  'IFS',
  'BASH_ENV',
  'ENV',
  'SHELLOPTS',
  'BASHOPTS',
  'PS4',
  'PROMPT_COMMAND',
  'CDPATH',
  'NODE_OPTIONS',
  'PERL5OPT',
  'PERL5LIB',
  'PERLLIB',
  'RUBYOPT',
  'RUBYLIB',
  'GCONV_PATH',
  'HOSTALIASES',
  'LOCPATH',
  'NLSPATH',
  'GLIBC_TUNABLES',
  'RIPGREP_CONFIG_PATH',
  'GREP_OPTIONS',
  'PAGER',
  'EDITOR',
  'VISUAL',
  'TMPDIR',
  'XDG_CONFIG_HOME',
  'XDG_CONFIG_DIRS',
  'XDG_DATA_HOME',
  // tar reads options from TAR_OPTIONS (--to-command=…), its remote shell from RSH, its archive from TAPE.
  'TAR_OPTIONS',
  'RSH',
  'TAPE',
  // Stops getopt at the first operand, so options the presets read as options become file operands.
  'POSIXLY_CORRECT',
  'CAPSULE_SHELL_RUN',
]

/** Prefixes of environment variable names never passed to a command (`LD_PRELOAD`, `GIT_DIR`, …). */
export const FORBIDDEN_ENV_PREFIXES: readonly string[] = [
  'LD_',
  'DYLD_',
  'GIT_',
  'PYTHON',
  'NODE_',
  'BASH_FUNC_',
  'MALLOC_',
  'SSH_',
  'GNUPG',
  'GPG_',
]

/** Why `name` may never reach a command, or undefined when it may. */
export function forbiddenEnvReason(name: string): string | undefined {
  if (FORBIDDEN_ENV_NAMES.includes(name))
    return `${name} is fixed by the provider or changes how programs run`
  const prefix = FORBIDDEN_ENV_PREFIXES.find((p) => name.startsWith(p))
  if (prefix !== undefined) return `${prefix}* variables change what programs load or run`
  return undefined
}

/** What the child environment is built from. */
export interface BaseEnvironment {
  /** The search path, fixed: the directories commands were resolved in. */
  path: string
  home: string
  /** Values of `envAllow` names read from the host at configuration. */
  allowed: Readonly<Record<string, string>>
}

/**
 * Builds a command's whole environment: the fixed base, the allowed host values, Python's overrides
 * (already checked against `envAllow`), the preset's additions and a per-run marker. Nothing else from
 * the host's environment reaches the command.
 */
export function buildEnvironment(
  base: BaseEnvironment,
  overrides: Readonly<Record<string, string>>,
  extra: Readonly<Record<string, string>>,
  runToken: string,
): Record<string, string> {
  return {
    ...base.allowed,
    ...overrides,
    PATH: base.path,
    LANG: 'C.UTF-8',
    HOME: base.home,
    ...extra,
    // Lets the process sweep recognise descendants that left our process group and session.
    CAPSULE_SHELL_RUN: runToken,
  }
}

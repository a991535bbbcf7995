import { expect, test } from 'vitest'
import * as api from '../src/index.js'

test('exports exactly the documented public surface', () => {
  expect(Object.keys(api).sort()).toEqual([
    'DANGEROUS_COMMANDS',
    'DEFAULT_MAX_ARG_BYTES',
    'DEFAULT_MAX_CONCURRENT_PER_SESSION',
    'DEFAULT_MAX_HIDDEN_SCAN_ENTRIES',
    'DEFAULT_MAX_OUTPUT_BYTES',
    'DEFAULT_MAX_STDIN_BYTES',
    'DEFAULT_SEARCH_PATH',
    'DEFAULT_TIMEOUT_MS',
    'FIND_DENIED_WORDS',
    'FORBIDDEN_ENV_NAMES',
    'FORBIDDEN_ENV_PREFIXES',
    'GIT_DENIED_FLAGS',
    'GIT_GLOBAL_OPTIONS',
    'GIT_HARDENING_CONFIG',
    'GIT_PROGRAM_KEYS',
    'GIT_READ_ONLY_SUBCOMMANDS',
    'GIT_WRITE_SUBCOMMANDS',
    'GREP_DENIED_FLAGS',
    'RG_DENIED_FLAGS',
    'SHELL_PRESETS',
    'SORT_DENIED_FLAGS',
    'TAR_DENIED_FLAGS',
    'shellProvider',
    'shellProviderOptionsSchema',
    'shellRunInput',
    'shellRunOutput',
    'shellSandboxInForce',
  ])
})

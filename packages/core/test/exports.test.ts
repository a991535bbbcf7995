import { expect, test } from 'vitest'
import * as core from '../src/index.js'

// The public surface of @capsule/core: a change here is a visible diff, made on purpose.
test('the runtime exports of @capsule/core are exactly these', () => {
  expect(Object.keys(core).sort()).toMatchInlineSnapshot(`
    [
      "CAPSULE_CONFIG_FILES",
      "CAPSULE_ERROR_CODES",
      "CapabilityRegistry",
      "Capsule",
      "CapsuleError",
      "DEFAULT_LIMITS",
      "DEFAULT_POOL_OPTIONS",
      "DEFAULT_SANDBOX_LIMITS",
      "INPUT_CAPABILITY_ID",
      "MIN_BWRAP_VERSION",
      "MemoryPromiseStore",
      "PROTOCOL_VERSION",
      "SECURITY_LEVELS",
      "SENSITIVE_KEYS",
      "SecurityPolicy",
      "Session",
      "SessionPool",
      "buildSandboxCommand",
      "buildSeccompFilter",
      "capsuleConfigSchema",
      "compareLevels",
      "createWorkerCgroup",
      "findCapsuleConfig",
      "isCapsuleError",
      "loadCapsuleConfig",
      "probePythonInterpreter",
      "probeSandbox",
      "readCapsuleConfigFile",
      "redactForAudit",
      "sandboxUnavailableError",
      "systemClock",
    ]
  `)
})

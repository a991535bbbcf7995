import { expect, test } from 'vitest'
import * as contractTests from '../src/index.js'

test('the public surface is exactly these exports', () => {
  expect(Object.keys(contractTests).sort()).toEqual([
    'CANCEL_SETTLE_MS',
    'REQUIREMENTS',
    'callHandler',
    'createCapabilityContext',
    'deriveInvalidArgs',
    'getRequirement',
    'isRequirementId',
    'registeredRequirements',
    'requirementTestName',
    'runProviderContract',
    'skipsRequirement',
    'toPythonLiteral',
    'verifies',
  ])
})

// Two copies of a package in one process (two versions side by side, a bundled copy next to an installed
// one) each have their own classes. The errors carry registered-symbol brands and their classes check
// for them in Symbol.hasInstance, so `instanceof` and the is…() guards hold across copies. A second copy
// is a second module instance of the same source, loaded under another URL.
import { CapabilityError, isCapabilityError, ProviderDefinitionError } from '@capsule/provider-sdk'
import { SandboxError } from '@capsule/sandbox'
import { describe, expect, test } from 'vitest'
import { CapsuleError, isCapsuleError } from '../../src/errors.js'

/** A fresh instance of the module at `path` (relative to this file): its own classes, its own state. */
async function secondCopy<T>(path: string): Promise<T> {
  const url = `${new URL(path, import.meta.url).pathname}?second-copy`
  return (await import(/* @vite-ignore */ url)) as T
}

const core = await secondCopy<typeof import('../../src/errors.js')>('../../src/errors.ts')
const capability = await secondCopy<typeof import('../../../provider-sdk/src/capabilityError.js')>(
  '../../../provider-sdk/src/capabilityError.ts',
)
const definition = await secondCopy<typeof import('../../../provider-sdk/src/providerDefinitionError.js')>(
  '../../../provider-sdk/src/providerDefinitionError.ts',
)
const sandbox = await secondCopy<typeof import('../../../sandbox/src/sandboxError.js')>(
  '../../../sandbox/src/sandboxError.ts',
)

describe('errors from a second copy of their package', () => {
  test('are second copies indeed: other classes, other prototypes', () => {
    expect(core.CapsuleError).not.toBe(CapsuleError)
    expect(capability.CapabilityError).not.toBe(CapabilityError)
    expect(definition.ProviderDefinitionError).not.toBe(ProviderDefinitionError)
    expect(sandbox.SandboxError).not.toBe(SandboxError)
    const error = new capability.CapabilityError('DENIED', 'no')
    expect(Object.getPrototypeOf(error)).not.toBe(CapabilityError.prototype)
    expect(Object.prototype.isPrototypeOf.call(CapabilityError.prototype, error)).toBe(false)
  })

  test('a CapsuleError of either copy is `instanceof CapsuleError` of the other, and isCapsuleError', () => {
    const theirs = new core.CapsuleError('TIMEOUT', 'too slow')
    const ours = new CapsuleError('TIMEOUT', 'too slow')
    expect(theirs instanceof CapsuleError).toBe(true)
    expect(ours instanceof core.CapsuleError).toBe(true)
    expect(isCapsuleError(theirs, 'TIMEOUT')).toBe(true)
    expect(core.isCapsuleError(ours, 'TIMEOUT')).toBe(true)
    expect(isCapsuleError(theirs, 'CANCELLED')).toBe(false)
  })

  test('a CapabilityError of either copy is `instanceof CapabilityError` of the other, and isCapabilityError', () => {
    const theirs = new capability.CapabilityError('NOT_FOUND', 'no such key')
    expect(theirs instanceof CapabilityError).toBe(true)
    expect(new CapabilityError('DENIED', 'no') instanceof capability.CapabilityError).toBe(true)
    expect(isCapabilityError(theirs)).toBe(true)
    expect(capability.isCapabilityError(new CapabilityError('DENIED', 'no'))).toBe(true)
  })

  test('a ProviderDefinitionError of another copy is one here, and a CapsuleError', () => {
    const theirs = new definition.ProviderDefinitionError('kvProvider: options.max …', {
      code: 'INVALID_OPTIONS',
    })
    expect(theirs instanceof ProviderDefinitionError).toBe(true)
    expect(theirs instanceof CapsuleError).toBe(true)
    expect(isCapsuleError(theirs, 'INVALID_OPTIONS')).toBe(true)
  })

  test('a SandboxError of another copy is one here, and a CapsuleError', () => {
    const theirs = new sandbox.SandboxError('SANDBOX_UNAVAILABLE', 'bwrap is missing')
    expect(theirs instanceof SandboxError).toBe(true)
    expect(theirs instanceof CapsuleError).toBe(true)
    expect(isCapsuleError(theirs, 'SANDBOX_UNAVAILABLE')).toBe(true)
  })

  test('the brands do not blur the families: each class accepts only its own', () => {
    expect(new CapabilityError('DENIED', 'no') instanceof CapsuleError).toBe(false)
    expect(new CapsuleError('TIMEOUT', 'x') instanceof CapabilityError).toBe(false)
    expect(new CapsuleError('INVALID_OPTIONS', 'x') instanceof ProviderDefinitionError).toBe(false)
    expect(new SandboxError('INVALID_OPTIONS', 'x') instanceof ProviderDefinitionError).toBe(false)
    expect(new ProviderDefinitionError('x') instanceof SandboxError).toBe(false)
  })

  test('a look-alike without the brand is no instance (isCapabilityError still knows an unbranded old copy)', () => {
    const lookalike = Object.assign(new Error('no'), { name: 'CapabilityError', code: 'DENIED' })
    expect(lookalike instanceof CapabilityError).toBe(false)
    expect(isCapabilityError(lookalike)).toBe(true)
    const fake = Object.assign(new Error('x'), { name: 'CapsuleError', code: 'TIMEOUT' })
    expect(fake instanceof CapsuleError).toBe(false)
    for (const value of [null, undefined, 'CapsuleError', 42, {}]) {
      expect(value instanceof CapsuleError).toBe(false)
      expect(value instanceof CapabilityError).toBe(false)
    }
  })
})

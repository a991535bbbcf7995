import { describe, expect, test } from 'vitest'
import { CapabilityRegistry } from '../../src/capabilities/capabilityRegistry.js'
import { SecurityPolicy } from '../../src/security/securityPolicy.js'
import { testProvider } from '../fixtures.js'

const registry = new CapabilityRegistry([testProvider()])
const granted = (policy: SecurityPolicy) => policy.granted().map((c) => c.id)

describe('SecurityPolicy', () => {
  test('each level grants the capabilities declared at or below it', () => {
    expect(granted(SecurityPolicy.create(registry, { level: 'sandbox' }))).not.toContain('test.read')
    expect(granted(SecurityPolicy.create(registry, { level: 'restricted' }))).toContain('test.read')
    expect(granted(SecurityPolicy.create(registry, { level: 'restricted' }))).not.toContain('test.write')
    expect(granted(SecurityPolicy.create(registry, { level: 'standard' }))).toContain('test.write')
    expect(granted(SecurityPolicy.create(registry, { level: 'standard' }))).not.toContain('test.run')
    expect(granted(SecurityPolicy.create(registry, { level: 'trusted' }))).toContain('test.run')
  })

  test('allow adds ids and patterns above the level', () => {
    const policy = SecurityPolicy.create(registry, { level: 'sandbox', allow: ['test.write'] })
    expect(policy.decide('test.write')).toEqual({
      allowed: true,
      rule: 'allow:test.write',
      capability: registry.get('test.write'),
    })
    expect(policy.decide('test.run').allowed).toBe(false)
    expect(
      SecurityPolicy.create(registry, { level: 'sandbox', allow: ['test.*'] }).decide('test.run').allowed,
    ).toBe(true)
  })

  test('deny wins over the level and over allow', () => {
    const policy = SecurityPolicy.create(registry, {
      level: 'unrestricted',
      allow: ['test.echo'],
      deny: ['test.echo'],
    })
    expect(policy.decide('test.echo')).toEqual({
      allowed: false,
      rule: 'deny:test.echo',
      capability: registry.get('test.echo'),
    })
    expect(
      SecurityPolicy.create(registry, { level: 'unrestricted', deny: ['test.*'] }).decide('test.read').rule,
    ).toBe('deny:test.*')
    expect(SecurityPolicy.create(registry, { level: 'unrestricted', deny: ['*'] }).granted()).toEqual([])
  })

  test('an unknown capability is never allowed', () => {
    expect(SecurityPolicy.create(registry, { level: 'unrestricted' }).decide('nope.never')).toEqual({
      allowed: false,
      rule: 'unknown',
    })
  })

  test('rejects malformed patterns and unknown allow ids with a precise message', () => {
    expect(() => SecurityPolicy.create(registry, { level: 'standard', allow: ['fs.*.x'] })).toThrow(
      /capability ids like/,
    )
    expect(() => SecurityPolicy.create(registry, { level: 'standard', allow: ['test.nope'] })).toThrow(
      /no provider registers/,
    )
    expect(() => SecurityPolicy.create(registry, { level: 'root' as never })).toThrow(/level must be one of/)
  })

  test('a Capsule that allows an id and denies it too still opens sessions, and the deny wins', () => {
    const capsule = SecurityPolicy.create(registry, {
      level: 'standard',
      allow: ['test.run'],
      deny: ['test.*'],
    })
    const session = capsule.narrow({})
    expect(session.decide('test.run')).toEqual({
      allowed: false,
      rule: 'deny:test.*',
      capability: registry.get('test.run'),
    })
  })

  test('a session can narrow the grants but never widen them', () => {
    const capsule = SecurityPolicy.create(registry, { level: 'standard', deny: ['test.echo'] })
    const narrowed = capsule.narrow({ level: 'restricted' })
    expect(granted(narrowed)).toContain('test.read')
    expect(granted(narrowed)).not.toContain('test.write')
    expect(capsule.narrow({ level: 'restricted', allow: ['test.write'] }).decide('test.write').allowed).toBe(
      true,
    )
    expect(capsule.narrow({ deny: ['test.read'] }).decide('test.read').allowed).toBe(false)
    // The Capsule's deny still applies to the session even when the session allows the id by pattern.
    expect(capsule.narrow({ allow: ['test.*'] }).decide('test.echo').allowed).toBe(false)
    expect(() => capsule.narrow({ level: 'trusted' })).toThrow(/cannot widen/)
    expect(() => capsule.narrow({ allow: ['test.run'] })).toThrow(/does not grant it/)
    expect(capsule.narrow({ allow: ['test.*'] }).decide('test.run').allowed).toBe(false)
  })
})

import { describe, expect, test } from 'vitest'
import {
  getRequirement,
  isRequirementId,
  REQUIREMENTS,
  type RequirementId,
  registeredRequirements,
  requirementTestName,
  skipsRequirement,
  verifies,
} from '../src/index.js'

describe('the requirement manifest', () => {
  test('ids are unique, dotted lowercase words, and each has a sentence', () => {
    const ids = REQUIREMENTS.map((requirement) => requirement.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const requirement of REQUIREMENTS) {
      expect(requirement.id).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*\.[a-z0-9]+(-[a-z0-9]+)*$/)
      expect(requirement.sentence.length).toBeGreaterThan(20)
      expect(requirement.sentence.endsWith('.')).toBe(true)
    }
  })

  test('names the requirements of the provider contract', () => {
    expect(REQUIREMENTS.map((requirement) => requirement.id)).toEqual([
      'meta.names',
      'meta.documented',
      'fixtures.complete',
      'schema.json-schema',
      'schema.python-signature',
      'args.invalid-rejected',
      'errors.codes',
      'policy.denied-by-rules',
      'policy.denied-has-no-effect',
      'output.matches-schema',
      'cancel.abort-within-1s',
      'concurrency.fifty-calls',
      'e2e.stub-signature',
      'e2e.sync-call',
      'e2e.async-call',
      'e2e.error-exceptions',
      'progress.reaches-host',
      'audit.secrets-redacted',
      'leaks.released-after-calls',
      'leaks.released-by-dispose',
      'contract.coverage',
    ])
  })

  test('looks requirements up by id and refuses unknown ids with the list of known ones', () => {
    expect(isRequirementId('meta.names')).toBe(true)
    expect(isRequirementId('meta.nmaes')).toBe(false)
    expect(isRequirementId(42)).toBe(false)
    expect(getRequirement('cancel.abort-within-1s').needs).toBe('slow')
    expect(() => getRequirement('meta.nmaes')).toThrow(
      /unknown requirement id "meta.nmaes"; known ids: meta.names/,
    )
  })
})

describe('verifies()', () => {
  const before = registeredRequirements().length
  verifies('meta.names', 'a registration made by this test file', () => {})
  skipsRequirement('cancel.abort-within-1s', 'a skip made by this test file', 'nothing is slow here')

  test('registers a test named [id] title and records it', () => {
    expect(registeredRequirements().slice(before)).toEqual([
      { id: 'meta.names', title: 'a registration made by this test file' },
      {
        id: 'cancel.abort-within-1s',
        title: 'a skip made by this test file',
        skipped: 'nothing is slow here',
      },
    ])
    expect(requirementTestName('meta.names', 'x')).toBe('[meta.names] x')
  })

  test('the test it registered ran under its [id] name', ({ task }) => {
    const names = task.suite?.tasks.map((sibling) => sibling.name) ?? []
    expect(names).toContain('[meta.names] a registration made by this test file')
    expect(names).toContain(
      '[cancel.abort-within-1s] a skip made by this test file — skipped: nothing is slow here',
    )
  })

  test('throws at registration for an id that is not in the manifest', () => {
    const count = registeredRequirements().length
    expect(() => verifies('meta.nmaes' as RequirementId, 'typo', () => {})).toThrow(/unknown requirement id/)
    expect(() => skipsRequirement('nope' as RequirementId, 'typo', 'reason')).toThrow(
      /unknown requirement id/,
    )
    expect(registeredRequirements()).toHaveLength(count)
  })

  test('refuses a skip without a reason', () => {
    expect(() => skipsRequirement('cancel.abort-within-1s', 'no reason', '  ')).toThrow(/needs a reason/)
  })

  test('returns copies, so callers cannot rewrite the record', () => {
    const list = registeredRequirements()
    list.length = 0
    expect(registeredRequirements().length).toBeGreaterThan(0)
  })
})

import { CAPABILITY_NAME_PATTERN, isSecurityLevel, SEMVER_PATTERN } from '@capsule/provider-sdk'
import type { ContractContext } from '../contractContext.js'
import { verifies } from '../verifies.js'
import { assertNoProblems, isReason, PYTHON_IDENTIFIER } from './requirementHelpers.js'

/**
 * Registers the requirements on what the provider declares: `meta.names`, `fixtures.complete` and,
 * per capability, `meta.documented`.
 */
export function registerMetaRequirements(contract: ContractContext): void {
  verifies(
    'meta.names',
    'provider: has a valid name and semantic version, and unique valid capability names',
    () => {
      const p = contract.provider
      const problems: string[] = []
      if (typeof p.name !== 'string' || !CAPABILITY_NAME_PATTERN.test(p.name))
        problems.push(`provider name ${JSON.stringify(p.name)} does not match ${CAPABILITY_NAME_PATTERN}`)
      if (typeof p.version !== 'string' || !SEMVER_PATTERN.test(p.version))
        problems.push(`version ${JSON.stringify(p.version)} is not a semantic version like 1.0.0`)
      if (!Array.isArray(p.capabilities) || p.capabilities.length === 0)
        problems.push('capabilities must be a non-empty array')
      const names = new Set<string>()
      const pythonNames = new Set<string>()
      for (const definition of p.capabilities ?? []) {
        if (typeof definition.name !== 'string' || !CAPABILITY_NAME_PATTERN.test(definition.name))
          problems.push(
            `capability name ${JSON.stringify(definition.name)} does not match ${CAPABILITY_NAME_PATTERN}`,
          )
        if (names.has(definition.name)) problems.push(`capability name ${definition.name} is used twice`)
        names.add(definition.name)
        const python = definition.python ?? definition.name
        if (typeof python !== 'string' || !PYTHON_IDENTIFIER.test(python))
          problems.push(`${definition.name}: Python name ${JSON.stringify(python)} is not an identifier`)
        if (pythonNames.has(python)) problems.push(`Python name ${python} is used twice`)
        pythonNames.add(python)
      }
      assertNoProblems(problems)
    },
  )

  verifies(
    'fixtures.complete',
    'provider: every capability has a fixture and every fixture a capability',
    () => {
      const declared = contract.provider.capabilities.map((definition) => definition.name)
      const given = contract.capabilities
      const problems = [
        ...declared
          .filter((name) => !Object.hasOwn(contract.fixtures.capabilities, name))
          .map((name) => `${name} has no fixture`),
        ...given.flatMap(([name, fixture]) => {
          const found: string[] = []
          if (!declared.includes(name)) found.push(`the fixture ${name} names no capability`)
          if (fixture.valid === undefined) found.push(`the fixture ${name} has no valid call`)
          if (fixture.slow !== undefined && fixture.noSlowCall !== undefined)
            found.push(`the fixture ${name} gives both a slow call and noSlowCall`)
          if (fixture.noSlowCall !== undefined && !isReason(fixture.noSlowCall))
            found.push(`the fixture ${name} gives noSlowCall without a reason (a non-empty string)`)
          if (fixture.secret !== undefined && typeof fixture.secret !== 'function')
            found.push(
              `the fixture ${name} gives secret as a ${typeof fixture.secret}, not a function of the secret`,
            )
          return found
        }),
      ]
      assertNoProblems(problems)
    },
  )

  for (const [name] of contract.capabilities) {
    verifies('meta.documented', `${name}: has a description and a known security level`, () => {
      const definition = contract.capability(name)
      const problems: string[] = []
      if (typeof definition.description !== 'string' || definition.description.trim() === '')
        problems.push('the description is empty')
      if (!isSecurityLevel(definition.level))
        problems.push(`level ${JSON.stringify(definition.level)} is not a security level`)
      assertNoProblems(problems)
    })
  }
}

import { expect } from 'vitest'
import { z } from 'zod'
import { resolveArgs } from '../capabilityCaller.js'
import type { ContractContext } from '../contractContext.js'
import { skipsRequirement, verifies } from '../verifies.js'
import {
  assertNoProblems,
  describeOutcome,
  E2E_TEST_TIMEOUT_MS,
  inputKeys,
  isPythonParameterName,
} from './requirementHelpers.js'

/**
 * Registers the requirements on schemas, per capability: `schema.json-schema`,
 * `schema.python-signature`, `args.invalid-rejected` and `output.matches-schema`.
 */
export function registerSchemaRequirements(contract: ContractContext): void {
  for (const [name, fixture] of contract.capabilities) {
    verifies('schema.json-schema', `${name}: input and output convert to JSON Schema`, () => {
      const definition = contract.capability(name)
      const input = z.toJSONSchema(definition.input, { io: 'input', unrepresentable: 'any' })
      expect(input.type, 'the input schema must be an object schema').toBe('object')
      z.toJSONSchema(definition.output, { io: 'output', unrepresentable: 'any' })
    })

    verifies(
      'schema.python-signature',
      `${name}: the registry accepts it and its Python parameters are its input keys`,
      () => {
        const keys = inputKeys(contract.capability(name))
        assertNoProblems(
          keys
            .filter((key) => !isPythonParameterName(key))
            .map((key) => `input key ${JSON.stringify(key)} is not a Python parameter name`),
        )
        const registered = contract.registry.get(contract.idOf(name))
        expect(registered, `${contract.idOf(name)} is not registered`).toBeDefined()
        expect(registered?.spec.params.map((param) => param.name)).toEqual(keys)
      },
    )

    if (fixture.invalid === null) {
      skipsRequirement(
        'args.invalid-rejected',
        `${name}: invalid arguments are rejected`,
        'the fixture declares that no arguments are invalid',
      )
    } else {
      verifies(
        'args.invalid-rejected',
        `${name}: schema-invalid arguments are rejected with INVALID_ARGUMENT before the handler runs`,
        async () => {
          const definition = contract.capability(name)
          const args = await contract.invalidArgs(name, fixture)
          const problems: string[] = []
          if (definition.input.safeParse(args).success)
            problems.push(`the input schema accepts the invalid arguments ${JSON.stringify(args)}`)
          const python = contract.harness
          const session = await python.session(definition.level)
          const calls = python.main.callCount(name)
          const [outcome] = await python.call(session, contract.pythonName(name), [args])
          if (python.main.callCount(name) !== calls) problems.push('the handler ran for invalid arguments')
          if (!outcome || outcome.ok || outcome.code !== 'INVALID_ARGUMENT')
            problems.push(`from Python the call ended with ${describeOutcome(outcome)}, not INVALID_ARGUMENT`)
          assertNoProblems(problems)
        },
        E2E_TEST_TIMEOUT_MS,
      )
    }

    verifies(
      'output.matches-schema',
      `${name}: the valid call's result matches the output schema`,
      async () => {
        const definition = contract.capability(name)
        const value = await contract.call(name, await resolveArgs(fixture.valid))
        const checked = definition.output.safeParse(value)
        expect(
          checked.success,
          `the result does not match the output schema: ${checked.success ? '' : checked.error.message}`,
        ).toBe(true)
        await fixture.check?.(checked.data)
      },
    )
  }
}

import { expect } from 'vitest'
import { resolveArgs } from '../capabilityCaller.js'
import type { ContractContext } from '../contractContext.js'
import type { PythonCallOutcome } from '../pythonHarness.js'
import { skipsRequirement, verifies } from '../verifies.js'
import {
  assertNoProblems,
  canonical,
  describeOutcome,
  E2E_TEST_TIMEOUT_MS,
  expectSuccesses,
  inputKeys,
  jsonForm,
  pythonValue,
} from './requirementHelpers.js'

/** A parameter as the stub probe reports it from `inspect.signature`. */
interface ProbedParameter {
  name: string
  kind: string
  required: boolean
  default: unknown
  annotation: string
}

/**
 * Registers the requirements on the capability as Python code sees it, per capability, in the real
 * worker: `e2e.stub-signature`, `e2e.sync-call`, `e2e.async-call` and `e2e.error-exceptions`.
 */
export function registerPythonRequirements(contract: ContractContext): void {
  for (const [name, fixture] of contract.capabilities) {
    verifies(
      'e2e.stub-signature',
      `${name}: in Python it is a global with the derived signature and a docstring from its description`,
      async () => {
        const definition = contract.capability(name)
        const spec = contract.registry.get(contract.idOf(name))?.spec
        const python = contract.harness
        const session = await python.session(definition.level)
        const seen = (await python.answer(session, stubProbe(contract.pythonName(name)))) as {
          params: ProbedParameter[]
          help: string
        } | null
        expect(
          seen,
          `${contract.pythonName(name)} is not defined in a session at level ${definition.level}`,
        ).not.toBeNull()
        expect(seen?.params.map((param) => param.name)).toEqual(inputKeys(definition))
        expect(seen?.params).toEqual(
          spec?.params.map((param) => ({
            name: param.name,
            kind: param.kind.toUpperCase(),
            required: param.required,
            default: param.required ? null : jsonForm(param.default),
            annotation: param.annotation,
          })),
        )
        const firstLine = definition.description.trim().split('\n')[0] ?? ''
        expect(seen?.help).toContain(firstLine)
      },
      E2E_TEST_TIMEOUT_MS,
    )

    verifies(
      'e2e.sync-call',
      `${name}: the valid call from synchronous Python returns the handler's result`,
      async () => {
        const definition = contract.capability(name)
        const python = contract.harness
        const session = await python.session(definition.level)
        const outcomes = await python.call(session, contract.pythonName(name), [
          await resolveArgs(fixture.valid),
        ])
        expectSuccesses(outcomes, 1)
        if (!definition.pythonResult) {
          const returned = (python.main.log.results.get(name) ?? []).slice(-1)
          expect(outcomes.map(pythonValue)).toEqual(
            returned.map((value) => jsonForm(definition.output.parse(value))),
          )
        }
      },
      E2E_TEST_TIMEOUT_MS,
    )

    verifies(
      'e2e.async-call',
      `${name}: the valid call can be awaited and gathered inside a coroutine`,
      async () => {
        const definition = contract.capability(name)
        const python = contract.harness
        const session = await python.session(definition.level)
        const argsList = await Promise.all([0, 1, 2].map(() => resolveArgs(fixture.valid)))
        const outcomes = await python.call(session, contract.pythonName(name), argsList, 'async')
        expectSuccesses(outcomes, 3)
        if (!definition.pythonResult) {
          const returned = (python.main.log.results.get(name) ?? []).slice(-3)
          const expected = returned.map((value) => canonical(jsonForm(definition.output.parse(value))))
          expect(outcomes.map((outcome) => canonical(pythonValue(outcome))).sort()).toEqual(expected.sort())
        }
      },
      E2E_TEST_TIMEOUT_MS,
    )

    if (fixture.invalid === null && !fixture.denied && !fixture.slow) {
      skipsRequirement(
        'e2e.error-exceptions',
        `${name}: errors raise typed exceptions`,
        'the fixture has no invalid, denied or slow call',
      )
      continue
    }
    verifies(
      'e2e.error-exceptions',
      `${name}: invalid, denied and timed-out calls raise capsule's typed exceptions in Python`,
      async () => {
        const definition = contract.capability(name)
        const python = contract.harness
        const session = await python.session(definition.level)
        const problems: string[] = []
        const expectRaised = (
          what: string,
          outcome: PythonCallOutcome | undefined,
          classes: string[],
          code: string,
        ) => {
          const ok =
            outcome !== undefined &&
            !outcome.ok &&
            classes.every((c) => outcome.mro.includes(c)) &&
            outcome.code === code
          if (!ok)
            problems.push(`${what} ended with ${describeOutcome(outcome)}, not ${classes[0]} (${code})`)
        }
        const pythonName = contract.pythonName(name)
        if (fixture.invalid !== null) {
          const [outcome] = await python.call(session, pythonName, [
            await contract.invalidArgs(name, fixture),
          ])
          expectRaised('the invalid call', outcome, ['InvalidArguments', 'ValueError'], 'INVALID_ARGUMENT')
        }
        if (fixture.denied) {
          const [outcome] = await python.call(session, pythonName, [await resolveArgs(fixture.denied)])
          expectRaised('the denied call', outcome, ['CapabilityDenied', 'PermissionError'], 'DENIED')
        }
        if (fixture.slow) {
          const timeoutSession = await python.timeoutSession()
          const [outcome] = await python.call(timeoutSession, pythonName, [await resolveArgs(fixture.slow)])
          expectRaised('the slow call', outcome, ['CapabilityTimeout', 'TimeoutError'], 'TIMEOUT')
        }
        assertNoProblems(problems)
      },
      E2E_TEST_TIMEOUT_MS,
    )
  }
}

/** Python that emits the signature and help text of the global `name`, or None when it is absent. */
function stubProbe(name: string): string {
  return [
    'import inspect as _contract_inspect, pydoc as _contract_pydoc',
    `_contract_f = globals().get(${JSON.stringify(name)})`,
    'if _contract_f is None:',
    '    _contract_emit(None)',
    'else:',
    '    _contract_empty = _contract_inspect.Parameter.empty',
    '    _contract_emit({"help": _contract_pydoc.render_doc(_contract_f, renderer=_contract_pydoc.plaintext), "params": [',
    '        {"name": p.name, "kind": p.kind.name, "required": p.default is _contract_empty,',
    '         "default": None if p.default is _contract_empty else _contract_jsonable(p.default),',
    '         "annotation": "" if p.annotation is _contract_empty else str(p.annotation)}',
    '        for p in _contract_inspect.signature(_contract_f).parameters.values()]})',
  ].join('\n')
}

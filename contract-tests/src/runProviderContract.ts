import { setTimeout as delay } from 'node:timers/promises'
import { CapabilityRegistry } from '@capsule/core'
import {
  type AnyCapabilityDefinition,
  CAPABILITY_NAME_PATTERN,
  CapabilityError,
  isCapabilityError,
  isCapabilityErrorCode,
  isSecurityLevel,
  type ProviderDefinition,
  SEMVER_PATTERN,
} from '@capsule/provider-sdk'
import { afterAll, beforeAll, describe, expect } from 'vitest'
import { z } from 'zod'
import { trackResources } from './activeResources.js'
import { callHandler, resolveArgs } from './capabilityCaller.js'
import { deriveInvalidArgs } from './deriveInvalidArgs.js'
import type {
  CallArgs,
  CapabilityFixture,
  ProviderContractOptions,
  ProviderFixtures,
  ProviderSource,
} from './providerFixtures.js'
import { type PythonCallOutcome, PythonHarness } from './pythonHarness.js'
import { REQUIREMENTS } from './requirements.js'
import { registeredRequirements, skipsRequirement, verifies } from './verifies.js'

/** How long a cancelled call may take to settle. */
export const CANCEL_SETTLE_MS = 1_000
/** How long a slow call runs before the contract aborts it. */
const SLOW_HEAD_START_MS = 100
/** How many valid calls run at once in `concurrency.fifty-calls`. */
const CONCURRENT_CALLS = 50
/** Timeout of tests that start Python workers. */
const E2E_TEST_TIMEOUT_MS = 30_000

const PYTHON_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/
const PYTHON_KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield'.split(
    ' ',
  ),
)

function isPythonParameterName(name: string): boolean {
  return PYTHON_IDENTIFIER.test(name) && !PYTHON_KEYWORDS.has(name)
}

/**
 * Registers the provider contract as a vitest `describe` block: one test per requirement of
 * {@link REQUIREMENTS} (per capability where it applies), named `[id] scope: title`, and a final
 * `contract.coverage` test that fails unless every requirement was registered. Call it at the top level
 * of a test file. The provider (or the function that builds it) is resolved after `fixtures.setup`.
 *
 * Unit requirements call the handlers directly with a real AbortController-backed context; the `e2e`
 * ones go through real Capsules and the real Python worker (`sandbox: 'none'` unless the fixtures say
 * otherwise). Requirements with a `needs` are registered as skipped, with the reason, when a fixture
 * cannot exercise them (no `slow` call → no cancellation test); all others always run.
 */
export function runProviderContract(
  source: ProviderSource,
  fixtures: ProviderFixtures,
  options: ProviderContractOptions = {},
): void {
  const title =
    options.title ??
    (typeof source === 'function' ? 'provider contract' : `provider contract: ${source.name}`)
  describe(title, () => {
    const first = registeredRequirements().length
    let provider: ProviderDefinition | undefined
    let harness: PythonHarness | undefined
    let registry: { value: CapabilityRegistry } | { error: unknown } | undefined

    beforeAll(async () => {
      await fixtures.setup?.()
      provider = typeof source === 'function' ? await source() : source
      harness = new PythonHarness({
        provider,
        python: fixtures.python,
        sandbox: fixtures.sandbox,
        callTimeoutMs: options.callTimeoutMs ?? 300,
      })
    }, E2E_TEST_TIMEOUT_MS)

    afterAll(async () => {
      try {
        await harness?.close()
        await provider?.dispose?.()
      } finally {
        await fixtures.teardown?.()
      }
    }, E2E_TEST_TIMEOUT_MS)

    const theProvider = (): ProviderDefinition => {
      if (!provider) throw new Error('the provider was not built (did setup fail?)')
      return provider
    }
    const theHarness = (): PythonHarness => {
      if (!harness) throw new Error('the provider was not built (did setup fail?)')
      return harness
    }
    const capability = (name: string): AnyCapabilityDefinition => {
      const found = theProvider().capabilities.find((definition) => definition.name === name)
      if (!found) throw new Error(`the provider has no capability named ${JSON.stringify(name)}`)
      return found
    }
    const theRegistry = (): CapabilityRegistry => {
      if (!registry) {
        try {
          registry = { value: new CapabilityRegistry([theProvider()]) }
        } catch (error) {
          registry = { error }
        }
      }
      if ('error' in registry) {
        throw new Error(
          `the core CapabilityRegistry refuses the provider: ${(registry.error as Error).message}`,
        )
      }
      return registry.value
    }
    const idOf = (name: string) => `${theProvider().name}.${name}`
    const pythonName = (name: string) => {
      const definition = capability(name)
      return definition.python ?? definition.name
    }
    const invalidArgs = async (name: string, fixture: CapabilityFixture): Promise<CallArgs> => {
      if (fixture.invalid) return resolveArgs(fixture.invalid)
      const derived = deriveInvalidArgs(capability(name).input, await resolveArgs(fixture.valid))
      if (derived === undefined) {
        throw new Error(
          `${name}: no schema-invalid arguments can be derived (no string, number or boolean parameter); give fixtures.capabilities.${name}.invalid, or null when none exist`,
        )
      }
      return derived
    }

    // ── provider-level requirements ─────────────────────────────────────────────────────────────

    verifies(
      'meta.names',
      'provider: has a valid name and semantic version, and unique valid capability names',
      () => {
        const p = theProvider()
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
        const declared = theProvider().capabilities.map((definition) => definition.name)
        const given = Object.keys(fixtures.capabilities)
        const problems = [
          ...declared.filter((name) => !given.includes(name)).map((name) => `${name} has no fixture`),
          ...given
            .filter((name) => !declared.includes(name))
            .map((name) => `the fixture ${name} names no capability`),
          ...given
            .filter((name) => fixtures.capabilities[name]?.valid === undefined)
            .map((name) => `the fixture ${name} has no valid call`),
        ]
        assertNoProblems(problems)
      },
    )

    verifies(
      'policy.denied-has-no-effect',
      'provider: calls the policy does not grant never reach a handler, and denied calls change nothing',
      async () => {
        // Arguments first: a fixture function may create what its call consumes, which is not an effect.
        const denied = await Promise.all(
          Object.entries(fixtures.capabilities).flatMap(([name, fixture]) =>
            fixture.denied ? [resolveArgs(fixture.denied).then((args) => ({ name, args }))] : [],
          ),
        )
        const forged = await Promise.all(
          Object.entries(fixtures.capabilities).map(async ([name, fixture]) => ({
            capability: idOf(name),
            args: await resolveArgs(fixture.valid),
          })),
        )
        const before = await fixtures.snapshot?.()
        const problems: string[] = []
        for (const { name, args } of denied) {
          const outcome = await callHandler(theProvider().name, capability(name), args).then(
            () => 'succeeded',
            () => 'failed',
          )
          if (outcome === 'succeeded') problems.push(`${name}: the denied call succeeded`)
        }
        const { handlerCalls, deniedDecisions } = await theHarness().forgeDeniedCalls(forged)
        if (handlerCalls > 0) problems.push(`${handlerCalls} forged call(s) reached a handler`)
        for (const { capability: id } of forged) {
          if (!deniedDecisions.includes(id)) problems.push(`no denied decision was audited for ${id}`)
        }
        assertNoProblems(problems)
        expect(await fixtures.snapshot?.(), 'the observed state changed').toEqual(before)
      },
      E2E_TEST_TIMEOUT_MS,
    )

    // ── per-capability requirements ─────────────────────────────────────────────────────────────

    for (const [name, fixture] of Object.entries(fixtures.capabilities)) {
      verifies('meta.documented', `${name}: has a description and a known security level`, () => {
        const definition = capability(name)
        const problems: string[] = []
        if (typeof definition.description !== 'string' || definition.description.trim() === '')
          problems.push('the description is empty')
        if (!isSecurityLevel(definition.level))
          problems.push(`level ${JSON.stringify(definition.level)} is not a security level`)
        assertNoProblems(problems)
      })

      verifies('schema.json-schema', `${name}: input and output convert to JSON Schema`, () => {
        const definition = capability(name)
        const input = z.toJSONSchema(definition.input, { io: 'input', unrepresentable: 'any' })
        expect(input.type, 'the input schema must be an object schema').toBe('object')
        z.toJSONSchema(definition.output, { io: 'output', unrepresentable: 'any' })
      })

      verifies(
        'schema.python-signature',
        `${name}: the registry accepts it and its Python parameters are its input keys`,
        () => {
          const definition = capability(name)
          const shape = (definition.input as unknown as { shape?: Record<string, unknown> }).shape ?? {}
          const badKeys = Object.keys(shape).filter((key) => !isPythonParameterName(key))
          assertNoProblems(
            badKeys.map((key) => `input key ${JSON.stringify(key)} is not a Python parameter name`),
          )
          const registered = theRegistry().get(idOf(name))
          expect(registered, `${idOf(name)} is not registered`).toBeDefined()
          expect(registered?.spec.params.map((param) => param.name)).toEqual(Object.keys(shape))
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
            const definition = capability(name)
            const args = await invalidArgs(name, fixture)
            const problems: string[] = []
            if (definition.input.safeParse(args).success)
              problems.push(`the input schema accepts the invalid arguments ${JSON.stringify(args)}`)
            const python = theHarness()
            const session = await python.session(definition.level)
            const calls = python.main.callCount(name)
            const [outcome] = await python.call(session, pythonName(name), [args])
            if (python.main.callCount(name) !== calls) problems.push('the handler ran for invalid arguments')
            if (!outcome || outcome.ok || outcome.code !== 'INVALID_ARGUMENT')
              problems.push(
                `from Python the call ended with ${describeOutcome(outcome)}, not INVALID_ARGUMENT`,
              )
            assertNoProblems(problems)
          },
          E2E_TEST_TIMEOUT_MS,
        )
      }

      const failures = [
        ...(fixture.denied ? [{ label: 'the denied call', args: fixture.denied, code: undefined }] : []),
        ...(fixture.errors ?? []).map((error, index) => ({
          label: `errors[${index}]`,
          args: error.args,
          code: error.code,
        })),
      ]
      if (failures.length === 0) {
        skipsRequirement(
          'errors.codes',
          `${name}: failures carry documented codes`,
          'the fixture declares no failing call (denied or errors)',
        )
      } else {
        verifies(
          'errors.codes',
          `${name}: calls that fail on purpose throw CapabilityErrors with documented codes`,
          async () => {
            const problems: string[] = []
            for (const failure of failures) {
              const error = await callHandler(
                theProvider().name,
                capability(name),
                await resolveArgs(failure.args),
              ).then(
                () => undefined,
                (thrown: unknown) => thrown ?? new Error('rejected with nothing'),
              )
              if (error === undefined) problems.push(`${failure.label} succeeded`)
              else if (!isCapabilityError(error) || !isCapabilityErrorCode(error.code))
                problems.push(`${failure.label} threw ${describeThrown(error)}, not a CapabilityError`)
              else if (failure.code !== undefined && error.code !== failure.code)
                problems.push(`${failure.label} failed with ${error.code}, not ${failure.code}`)
            }
            assertNoProblems(problems)
          },
        )
      }

      if (!fixture.denied) {
        skipsRequirement(
          'policy.denied-by-rules',
          `${name}: refused calls are DENIED`,
          'the provider declares no call its rules refuse',
        )
      } else {
        const denied = fixture.denied
        verifies('policy.denied-by-rules', `${name}: a call its rules refuse fails with DENIED`, async () => {
          const error = await callHandler(
            theProvider().name,
            capability(name),
            await resolveArgs(denied),
          ).then(
            () => undefined,
            (thrown: unknown) => thrown,
          )
          expect(error, 'the denied call succeeded').toBeDefined()
          expect(
            isCapabilityError(error),
            `the denied call threw ${describeThrown(error)}, not a CapabilityError`,
          ).toBe(true)
          expect((error as CapabilityError).code).toBe('DENIED')
        })
      }

      verifies(
        'output.matches-schema',
        `${name}: the valid call's result matches the output schema`,
        async () => {
          const definition = capability(name)
          const value = await callHandler(theProvider().name, definition, await resolveArgs(fixture.valid))
          const checked = definition.output.safeParse(value)
          expect(
            checked.success,
            `the result does not match the output schema: ${checked.success ? '' : checked.error.message}`,
          ).toBe(true)
          await fixture.check?.(checked.data)
        },
      )

      if (!fixture.slow) {
        skipsRequirement(
          'cancel.abort-within-1s',
          `${name}: aborting a slow call`,
          'the provider declares no slow call',
        )
      } else {
        const slow = fixture.slow
        verifies(
          'cancel.abort-within-1s',
          `${name}: aborting a slow call settles it within 1 s with CANCELLED and leaves nothing running`,
          async () => {
            const args = await resolveArgs(slow)
            const controller = new AbortController()
            let outcome: { ok: true } | { ok: false; error: unknown } | undefined
            const tracker = trackResources()
            const call = tracker
              .run(() => callHandler(theProvider().name, capability(name), args, controller.signal))
              .then(
                () => {
                  outcome = { ok: true }
                },
                (error: unknown) => {
                  outcome = { ok: false, error }
                },
              )
              .finally(() => tracker.seal())
            try {
              await delay(SLOW_HEAD_START_MS)
              expect(
                outcome,
                `the slow call settled within ${SLOW_HEAD_START_MS} ms; a slow call must take ≥ 2 s`,
              ).toBeUndefined()
              controller.abort(new CapabilityError('CANCELLED', 'the contract aborted the call'))
              const timer = new AbortController()
              const inTime = await Promise.race([
                call.then(() => true),
                delay(CANCEL_SETTLE_MS, false, { signal: timer.signal }).catch(() => false),
              ])
              timer.abort()
              expect(inTime, `the call did not settle within ${CANCEL_SETTLE_MS} ms of the abort`).toBe(true)
              expect(outcome?.ok, 'the aborted call resolved instead of failing with CANCELLED').toBe(false)
              const error = outcome && !outcome.ok ? outcome.error : undefined
              expect(isCapabilityError(error), `the aborted call threw ${describeThrown(error)}`).toBe(true)
              expect((error as CapabilityError).code).toBe('CANCELLED')
              // Destroy hooks run a turn after a timer is cleared or a handle closed: let them arrive.
              for (let turn = 0; turn < 3; turn += 1) await new Promise((resolve) => setImmediate(resolve))
              const alive = tracker.alive()
              assertNoProblems(
                alive.length > 0 ? [`work left running after the call settled: ${alive.join(', ')}`] : [],
              )
            } finally {
              tracker.stop()
            }
          },
        )
      }

      verifies(
        'concurrency.fifty-calls',
        `${name}: ${CONCURRENT_CALLS} concurrent valid calls all succeed`,
        async () => {
          const definition = capability(name)
          const argsList = await Promise.all(
            Array.from({ length: CONCURRENT_CALLS }, () => resolveArgs(fixture.valid)),
          )
          const results = await Promise.allSettled(
            argsList.map((args) => callHandler(theProvider().name, definition, args)),
          )
          const failed = results.flatMap((result, index) =>
            result.status === 'rejected' ? [`call ${index}: ${describeThrown(result.reason)}`] : [],
          )
          assertNoProblems(failed)
        },
      )

      verifies(
        'e2e.stub-signature',
        `${name}: in Python it is a global with the derived signature and a docstring from its description`,
        async () => {
          const definition = capability(name)
          const spec = theRegistry().get(idOf(name))?.spec
          const python = theHarness()
          const session = await python.session(definition.level)
          const seen = (await python.answer(session, stubProbe(pythonName(name)))) as {
            params: Array<{
              name: string
              kind: string
              required: boolean
              default: unknown
              annotation: string
            }>
            help: string
          } | null
          expect(
            seen,
            `${pythonName(name)} is not defined in a session at level ${definition.level}`,
          ).not.toBeNull()
          const shape = (definition.input as unknown as { shape?: Record<string, unknown> }).shape ?? {}
          expect(seen?.params.map((param) => param.name)).toEqual(Object.keys(shape))
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
          const definition = capability(name)
          const python = theHarness()
          const session = await python.session(definition.level)
          const outcomes = await python.call(session, pythonName(name), [await resolveArgs(fixture.valid)])
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
          const definition = capability(name)
          const python = theHarness()
          const session = await python.session(definition.level)
          const argsList = await Promise.all([0, 1, 2].map(() => resolveArgs(fixture.valid)))
          const outcomes = await python.call(session, pythonName(name), argsList, 'async')
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
      } else {
        verifies(
          'e2e.error-exceptions',
          `${name}: invalid, denied and timed-out calls raise capsule's typed exceptions in Python`,
          async () => {
            const definition = capability(name)
            const python = theHarness()
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
            if (fixture.invalid !== null) {
              const [outcome] = await python.call(session, pythonName(name), [
                await invalidArgs(name, fixture),
              ])
              expectRaised(
                'the invalid call',
                outcome,
                ['InvalidArguments', 'ValueError'],
                'INVALID_ARGUMENT',
              )
            }
            if (fixture.denied) {
              const [outcome] = await python.call(session, pythonName(name), [
                await resolveArgs(fixture.denied),
              ])
              expectRaised('the denied call', outcome, ['CapabilityDenied', 'PermissionError'], 'DENIED')
            }
            if (fixture.slow) {
              const timeoutSession = await python.timeoutSession()
              const [outcome] = await python.call(timeoutSession, pythonName(name), [
                await resolveArgs(fixture.slow),
              ])
              expectRaised('the slow call', outcome, ['CapabilityTimeout', 'TimeoutError'], 'TIMEOUT')
            }
            assertNoProblems(problems)
          },
          E2E_TEST_TIMEOUT_MS,
        )
      }
    }

    // ── coverage: last, so it sees every registration of this describe ──────────────────────────

    let end = 0
    verifies('contract.coverage', 'provider: every requirement was verified or skipped with a reason', () => {
      const mine = registeredRequirements().slice(first, end)
      const registered = new Set(mine.map((registration) => registration.id))
      const missing = REQUIREMENTS.filter((requirement) => !registered.has(requirement.id)).map((r) => r.id)
      assertNoProblems(missing.map((id) => `${id} has no test`))
      const wronglySkipped = mine.filter(
        (registration) =>
          registration.skipped !== undefined &&
          !(REQUIREMENTS.find((requirement) => requirement.id === registration.id) as { needs?: string })
            .needs,
      )
      assertNoProblems(wronglySkipped.map((r) => `${r.id} may not be skipped (${r.title})`))
    })
    end = registeredRequirements().length
  })
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

/** The JSON form the Python helpers give a value: bytes as `{$bytes: hex}`, undefined object fields dropped. */
function jsonForm(value: unknown): unknown {
  if (value === undefined || value === null) return null
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('hex') }
  if (Array.isArray(value)) return value.map(jsonForm)
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, item]) => item !== undefined)
        .map(([key, item]) => [key, jsonForm(item)]),
    )
  }
  return value
}

/** JSON with object keys sorted, for comparing values whatever the order of their keys. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`
  }
  return JSON.stringify(value)
}

/** Fails with every problem spelled out (an `expect(...).toEqual([])` diff would truncate them). */
function assertNoProblems(problems: string[]): void {
  if (problems.length > 0) throw new Error(problems.join('; '))
}

function pythonValue(outcome: PythonCallOutcome): unknown {
  return outcome.ok ? outcome.value : undefined
}

function expectSuccesses(outcomes: PythonCallOutcome[], count: number): void {
  assertNoProblems(
    outcomes
      .filter((outcome) => !outcome.ok)
      .map((outcome) => `a call from Python failed: ${describeOutcome(outcome)}`),
  )
  expect(outcomes).toHaveLength(count)
}

function describeOutcome(outcome: PythonCallOutcome | undefined): string {
  if (outcome === undefined) return 'no outcome'
  if (outcome.ok) return `success (${JSON.stringify(outcome.value)})`
  return `${outcome.type}${outcome.code ? ` [${outcome.code}]` : ''}: ${outcome.message}`
}

function describeThrown(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`
  return String(error)
}

/**
 * What a requirement needs from the fixtures to be exercised. A requirement with a `needs` may be
 * registered as skipped (with the reason) when a capability's fixture cannot exercise it; one without
 * `needs` must always run. Two skips must also be declared: `slow` only with the fixture's
 * `noSlowCall` reason, `secret` only for a capability without `secretArgs`.
 */
export type RequirementNeed = 'invalid' | 'failure' | 'denied' | 'slow' | 'error-case' | 'secret'

/** One requirement of the provider contract: a stable id and the sentence a provider must make true. */
export interface Requirement {
  readonly id: string
  /** The requirement as one sentence, in the present tense. */
  readonly sentence: string
  /** `unit` calls handlers directly; `e2e` goes through a real Capsule and the real Python worker. */
  readonly kind: 'unit' | 'e2e'
  /** When set, the requirement may be skipped for a capability whose fixture lacks this. */
  readonly needs?: RequirementNeed
}

/**
 * The manifest of the provider contract: every requirement a provider must meet, by stable id. Ids
 * never change meaning; new requirements get new ids.
 */
export const REQUIREMENTS = [
  {
    id: 'meta.names',
    kind: 'unit',
    sentence:
      'The provider name is a lowercase identifier, its version is a semantic version, and every capability name is valid and unique, so capability ids are unique.',
  },
  {
    id: 'meta.documented',
    kind: 'unit',
    sentence:
      'Every capability has a non-empty description (the first line of its Python docstring) and declares a known security level.',
  },
  {
    id: 'fixtures.complete',
    kind: 'unit',
    sentence:
      'Every capability of the provider has a fixture with a valid call, and every fixture names a capability.',
  },
  {
    id: 'schema.json-schema',
    kind: 'unit',
    sentence:
      'The input and output schemas convert to JSON Schema (z.toJSONSchema), and the input is an object schema.',
  },
  {
    id: 'schema.python-signature',
    kind: 'unit',
    sentence:
      "The core CapabilityRegistry accepts the provider, and each capability's Python parameters are exactly its input keys, in order.",
  },
  {
    id: 'args.invalid-rejected',
    kind: 'e2e',
    needs: 'invalid',
    sentence:
      'Schema-invalid arguments fail the input schema and, called from Python, are rejected with INVALID_ARGUMENT before the handler runs.',
  },
  {
    id: 'errors.codes',
    kind: 'unit',
    needs: 'failure',
    sentence:
      'A call that fails on purpose throws a CapabilityError with one of the documented codes (the expected one, when the fixture names it).',
  },
  {
    id: 'policy.denied-by-rules',
    kind: 'unit',
    needs: 'denied',
    sentence: "A call the provider's own rules refuse fails with a CapabilityError whose code is DENIED.",
  },
  {
    id: 'policy.denied-has-no-effect',
    kind: 'e2e',
    sentence:
      "A call the security policy does not grant never reaches the handler, and neither it nor a call the provider's rules refuse changes the state the fixture observes.",
  },
  {
    id: 'output.matches-schema',
    kind: 'unit',
    sentence: "The valid call's result matches the output schema (and the fixture's own check).",
  },
  {
    id: 'cancel.abort-within-1s',
    kind: 'unit',
    needs: 'slow',
    sentence:
      'Aborting the signal of a slow call settles it within 1 s with CANCELLED and leaves no timers, handles or requests behind.',
  },
  {
    id: 'concurrency.fifty-calls',
    kind: 'unit',
    sentence: 'Fifty concurrent valid calls all succeed.',
  },
  {
    id: 'e2e.stub-signature',
    kind: 'e2e',
    sentence:
      'In the real Python worker each capability is a global whose signature is derived from its input schema and whose help() shows its description.',
  },
  {
    id: 'e2e.sync-call',
    kind: 'e2e',
    sentence: "The valid call made from synchronous Python code returns the handler's result.",
  },
  {
    id: 'e2e.async-call',
    kind: 'e2e',
    sentence: 'The valid call is awaitable inside a coroutine, and asyncio.gather runs two of them.',
  },
  {
    id: 'e2e.error-exceptions',
    kind: 'e2e',
    needs: 'error-case',
    sentence:
      'From Python, invalid arguments raise capsule.InvalidArguments, a denied call capsule.CapabilityDenied, and a slow call past a small callTimeoutMs capsule.CapabilityTimeout.',
  },
  {
    id: 'progress.reaches-host',
    kind: 'e2e',
    sentence:
      'Progress a handler reports through ctx.progress() is well formed (done a finite number ≥ 0 that never decreases and never exceeds total), comes while the call is pending, and reaches the host as progress events of that call, in order.',
  },
  {
    id: 'audit.secrets-redacted',
    kind: 'e2e',
    needs: 'secret',
    sentence:
      "A secret in a call's arguments never reaches the audit log or the host's log verbatim, and the handler never fails with a plain Error that quotes it (the core records a plain Error's message as the audit's errorDetail).",
  },
  {
    id: 'leaks.released-after-calls',
    kind: 'unit',
    sentence:
      "Every call, successful or not, leaves no work running once it settles (no timer, socket, request, child process or handler still at work), checked after every requirement; only idle resources that keep nothing alive, such as an unref'd pooled connection, may stay.",
  },
  {
    id: 'leaks.released-by-dispose',
    kind: 'unit',
    sentence:
      "The provider's dispose() releases every idle resource it kept between calls (pooled connections, unref'd timers); a provider without dispose() keeps none.",
  },
  {
    id: 'contract.coverage',
    kind: 'unit',
    sentence:
      'Every requirement in this manifest was registered for the provider, and only requirements with a `needs` were skipped, each with its reason: cancellation only where the fixture says why no call can be slow (`noSlowCall`), secrets only for capabilities without `secretArgs`.',
  },
] as const satisfies readonly Requirement[]

/** The id of one requirement in {@link REQUIREMENTS}. */
export type RequirementId = (typeof REQUIREMENTS)[number]['id']

const byId = new Map<string, Requirement>(REQUIREMENTS.map((requirement) => [requirement.id, requirement]))

/** Whether `id` names a requirement of the manifest. */
export function isRequirementId(id: unknown): id is RequirementId {
  return typeof id === 'string' && byId.has(id)
}

/** The requirement with this id; throws a TypeError naming the known ids when there is none. */
export function getRequirement(id: string): Requirement {
  const requirement = byId.get(id)
  if (!requirement) {
    throw new TypeError(
      `unknown requirement id ${JSON.stringify(id)}; known ids: ${REQUIREMENTS.map((r) => r.id).join(', ')}`,
    )
  }
  return requirement
}

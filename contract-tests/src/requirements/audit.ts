import { randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import { isCapabilityError } from '@capsule/provider-sdk'
import type { ContractContext } from '../contractContext.js'
import { skipsRequirement, verifies } from '../verifies.js'
import { assertNoProblems, describeThrown, E2E_TEST_TIMEOUT_MS, errorOf } from './requirementHelpers.js'

/**
 * Registers `audit.secrets-redacted` per capability: a fresh secret planted by the fixture's `secret`
 * call never reaches the audit log or the host's log verbatim, and the handler never fails with a plain
 * Error quoting it. A capability without a `secret` fixture is skipped, and `contract.coverage` fails
 * when it declares `secretArgs`.
 */
export function registerAuditRequirements(contract: ContractContext): void {
  for (const [name, fixture] of contract.capabilities) {
    const plant = fixture.secret
    if (typeof plant !== 'function') {
      skipsRequirement(
        'audit.secrets-redacted',
        `${name}: secrets stay out of the audit`,
        'the fixture plants no secret (allowed only without secretArgs)',
      )
      contract.coverageProblems.push(() => {
        const definition = contract.provider.capabilities.find((candidate) => candidate.name === name)
        const secretArgs = definition?.secretArgs ?? []
        return secretArgs.length === 0
          ? []
          : [
              `audit.secrets-redacted was skipped for ${name}, which declares secretArgs [${secretArgs.join(', ')}]: give fixtures.capabilities.${name}.secret, a call that carries the secret it is given`,
            ]
      })
      continue
    }
    verifies(
      'audit.secrets-redacted',
      `${name}: a secret in its arguments never reaches the audit or the host log verbatim`,
      async () => {
        const definition = contract.capability(name)
        const secret = `capsule-secret-${randomBytes(12).toString('hex')}`
        const args = await plant(secret)
        const problems: string[] = []
        if (!carries(args, secret))
          problems.push('the secret fixture returned arguments without the secret in them')
        if (!definition.input.safeParse(args).success)
          problems.push('the input schema refuses the secret call, so no handler ever sees the secret')
        assertNoProblems(problems)

        // The provider's part, whatever the core does with what it is given.
        const error = await errorOf(contract.call(name, args))
        // `Name: message` is what the core copies; a `cause` stays with the error.
        if (error !== undefined && !isCapabilityError(error) && describeThrown(error).includes(secret))
          problems.push(
            "the handler failed with a plain Error that quotes the secret; the core copies a plain Error's message into the audit (errorDetail) and the host log: keep the secret out of the message, or throw a CapabilityError",
          )

        // What a host actually records, through the core's public onAudit and logger.
        const python = contract.harness
        const session = await python.session(definition.level)
        const auditFrom = python.audit.length
        const logFrom = python.hostLog.length
        // Succeeding or failing, the call leaves its decision and outcome in the audit.
        await python.call(session, contract.pythonName(name), [args])
        for (const entry of python.audit.slice(auditFrom)) {
          for (const [field, value] of Object.entries(entry)) {
            if (!carries(value, secret)) continue
            const hint = field === 'args' ? ' (list the argument in the capability’s secretArgs)' : ''
            problems.push(`the audit's ${entry.type} entry has the secret verbatim in ${field}${hint}`)
          }
        }
        for (const line of python.hostLog.slice(logFrom)) {
          if (carries(line, secret))
            problems.push(`the host log line ${JSON.stringify(line.message)} has the secret verbatim`)
        }
        assertNoProblems(problems)
      },
      E2E_TEST_TIMEOUT_MS,
    )
  }
}

// Whether `secret` appears anywhere in `value`: nested fields, error messages and causes included.
function carries(value: unknown, secret: string): boolean {
  if (typeof value === 'string') return value.includes(secret)
  return inspect(value, { depth: 12, breakLength: Number.POSITIVE_INFINITY, maxStringLength: null }).includes(
    secret,
  )
}

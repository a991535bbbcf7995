import type { ExecutionEvent } from '@capsule/core'
import { z } from 'zod'
import { resolveArgs } from '../capabilityCaller.js'
import type { ContractContext } from '../contractContext.js'
import type { ProgressReport } from '../instrumentProvider.js'
import { verifies } from '../verifies.js'
import { assertNoProblems, canonical, E2E_TEST_TIMEOUT_MS } from './requirementHelpers.js'

// A progress update exactly as the SDK's CapabilityProgress describes it. Strict: the core spreads the
// update into the host's event, so a stray key (`type`, `callId`) would overwrite the event's own.
const progressUpdateSchema = z.strictObject({
  done: z.number().nonnegative(),
  total: z.number().nonnegative().optional(),
  unit: z.string().optional(),
  message: z.string().optional(),
})

/**
 * Registers `progress.reaches-host` per capability: the progress its call reports (the `progress`
 * fixture's call, else the valid one) is well formed, comes while the call is pending, and reaches the
 * host as `progress` events of that call from `session.execute()`, in order.
 */
export function registerProgressRequirements(contract: ContractContext): void {
  for (const [name, fixture] of contract.capabilities) {
    verifies(
      'progress.reaches-host',
      `${name}: the progress its call reports reaches the host as progress events of that call, in order`,
      async () => {
        const definition = contract.capability(name)
        const python = contract.harness
        const session = await python.session(definition.level)
        const args = await resolveArgs(fixture.progress ?? fixture.valid)
        // Whether the call succeeds is other requirements' business; this one follows its progress.
        const { events } = await python.stream(session, contract.pythonName(name), args)
        const problems: string[] = []
        const calls = events.flatMap((event, index) =>
          event.type === 'call' && event.capability === contract.idOf(name)
            ? [{ callId: event.callId, index }]
            : [],
        )
        const call = calls[0]
        if (calls.length !== 1 || !call) {
          problems.push(`the execution yielded ${calls.length} call events for ${contract.idOf(name)}, not 1`)
          assertNoProblems(problems)
          return
        }
        const reports = python.main.log.progress.get(call.callId) ?? []
        if (fixture.progress && reports.length === 0)
          problems.push('the progress call reported no progress (ctx.progress was never called)')
        problems.push(...judgeReports(reports))
        const received = events.flatMap((event, index) =>
          event.type === 'progress' && event.callId === call.callId ? [{ event, index }] : [],
        )
        if (received.some(({ index }) => index < call.index))
          problems.push('a progress event came before the call event')
        for (const { event } of received) {
          if (event.capability !== contract.idOf(name))
            problems.push(`a progress event names capability ${JSON.stringify(event.capability)}`)
        }
        const expected = reports
          .filter((report) => !report.afterSettle)
          .map((report) => canonical(definedFields(report.update)))
        const got = received.slice(0, expected.length).map(({ event }) => canonical(updateOf(event)))
        if (canonical(got) !== canonical(expected))
          problems.push(
            `the host received progress events [${got.join(', ')}] for the reports [${expected.join(', ')}]`,
          )
        assertNoProblems(problems)
      },
      E2E_TEST_TIMEOUT_MS,
    )
  }
}

// What is wrong with a handler's reports: shapes, order, and reports after the call settled.
function judgeReports(reports: readonly ProgressReport[]): string[] {
  const problems: string[] = []
  let previous: number | undefined
  for (const [index, { update, afterSettle }] of reports.entries()) {
    const where = `progress report ${index + 1} (${JSON.stringify(update)})`
    if (afterSettle) problems.push(`${where} came after the call settled, when nobody listens for it`)
    const parsed = progressUpdateSchema.safeParse(update)
    if (!parsed.success) {
      problems.push(
        `${where} is not a CapabilityProgress: ${parsed.error.issues.map((i) => i.message).join('; ')}`,
      )
      continue
    }
    const { done, total } = parsed.data
    if (total !== undefined && done > total) problems.push(`${where} has done greater than total`)
    if (previous !== undefined && done < previous) problems.push(`${where} goes back: done never decreases`)
    previous = done
  }
  return problems
}

// The CapabilityProgress part of a progress event.
function updateOf(event: Extract<ExecutionEvent, { type: 'progress' }>): Record<string, unknown> {
  const { type: _type, callId: _callId, capability: _capability, ...update } = event
  return definedFields(update)
}

// An update without its undefined fields, so `{ done: 1 }` and `{ done: 1, total: undefined }` compare equal.
function definedFields(update: object): Record<string, unknown> {
  return typeof update === 'object' && update !== null
    ? Object.fromEntries(Object.entries(update).filter(([, value]) => value !== undefined))
    : { update }
}

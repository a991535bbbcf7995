import type { DoctorCheck, DoctorCheckResult } from './doctorCheck.js'
import type { DoctorContext } from './doctorContext.js'

/** The whole report of `capsule doctor`: every check's result, in order, and whether any failed. */
export interface DoctorReport {
  ok: boolean
  checks: DoctorCheckResult[]
}

/**
 * Runs the checks one after another (several start Python or a sandbox, and sharing the machine with
 * them in parallel would only blur the timings they depend on). A check that throws is reported as a
 * failure carrying its message: a broken check must never hide the others or crash the command.
 */
export async function runDoctor(
  checks: readonly DoctorCheck[],
  context: DoctorContext,
  onResult: (result: DoctorCheckResult) => void = () => undefined,
): Promise<DoctorReport> {
  const results: DoctorCheckResult[] = []
  for (const check of checks) {
    let result: DoctorCheckResult
    try {
      result = { id: check.id, ...(await check.run(context)) }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error)
      result = {
        id: check.id,
        status: 'fail',
        summary: `the check itself failed: ${message}`,
        details: [],
        fix: 'this is a bug in capsule doctor or an unexpected machine state: run with CAPSULE_DEBUG=1 and report it',
      }
    }
    results.push(result)
    onResult(result)
  }
  return { ok: results.every((result) => result.status !== 'fail'), checks: results }
}

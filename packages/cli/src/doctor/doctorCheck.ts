import type { DoctorContext } from './doctorContext.js'

/** How one doctor check came out: `warn` and `skip` are not failures, `fail` makes the exit code 1. */
export type DoctorStatus = 'ok' | 'warn' | 'fail' | 'skip'

/** The outcome of one check, as `capsule doctor --json` prints it. */
export interface DoctorCheckResult {
  /** Stable identifier (`bwrap`, `uid-drop`, …): match on this, not on the summary. */
  id: string
  status: DoctorStatus
  /** One line saying what was found. */
  summary: string
  /** What was looked at and what it showed, one fact per line. */
  details: string[]
  /** What to do about it; present whenever the status is not `ok`. */
  fix?: string
}

/** What a check's `run` returns: its result without the id, which the check itself carries. */
export type DoctorFinding = Omit<DoctorCheckResult, 'id'>

/** One diagnosis of `capsule doctor`: an id and a function that looks at the machine. */
export interface DoctorCheck {
  id: string
  run(context: DoctorContext): Promise<DoctorFinding>
}

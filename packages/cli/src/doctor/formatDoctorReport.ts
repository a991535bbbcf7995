import { escapeUntrusted } from '../output/escapeUntrusted.js'
import type { Styles } from '../output/terminal.js'
import type { DoctorCheckResult, DoctorStatus } from './doctorCheck.js'

const WIDTH = 10

/**
 * One check as the human report shows it: status, id and summary on a line, then its details and fix
 * indented. Everything but the id comes from the host (paths, error messages, bwrap's output) and is escaped.
 */
export function formatDoctorCheck(result: DoctorCheckResult, style: Styles): string {
  const colour: Record<DoctorStatus, (text: string) => string> = {
    ok: style.green,
    warn: style.yellow,
    fail: style.red,
    skip: style.dim,
  }
  const status = colour[result.status](result.status.padEnd(5))
  const lines = [`${status} ${style.bold(result.id.padEnd(WIDTH))} ${escapeUntrusted(result.summary)}`]
  const indent = ' '.repeat(6 + WIDTH + 1)
  for (const detail of result.details) lines.push(`${indent}${style.dim(escapeUntrusted(detail))}`)
  if (result.fix !== undefined && result.status !== 'ok')
    lines.push(`${indent}${style.cyan('fix:')} ${escapeUntrusted(result.fix)}`)
  return `${lines.join('\n')}\n`
}

/** The last line of the human report: how many checks failed or warned. */
export function formatDoctorSummary(results: readonly DoctorCheckResult[]): string {
  const count = (status: DoctorStatus) => results.filter((result) => result.status === status).length
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
  return `${plural(count('fail'), 'failure')}, ${plural(count('warn'), 'warning')}, ${count('ok')} ok, ${count('skip')} skipped\n`
}

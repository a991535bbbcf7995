import { readFileSync } from 'node:fs'
import type { AuditEntry } from '@capsule/core'
import { EXIT_FAILURE, EXIT_OK, usageError } from '../cliError.js'
import { parseCommandArgs } from '../commandArgs.js'
import { commandHelp } from '../help.js'
import { escapeUntrusted } from '../output/escapeUntrusted.js'
import { formatAuditCalls, groupAuditEntries, summarizeAuditCalls } from '../output/formatAudit.js'
import { styles, type Terminal } from '../output/terminal.js'

const AUDIT_OPTIONS = {
  session: { type: 'string' },
  capability: { type: 'string' },
  denied: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

/**
 * `capsule audit FILE`: pretty-prints an audit log written with `--audit-log` (JSON lines, one AuditEntry
 * each), one call per line. Lines that are not audit entries are reported on stderr and make the exit code 1.
 */
export async function auditCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, AUDIT_OPTIONS, { positionals: 1 })
  if (values.help) {
    terminal.stdout.write(commandHelp('audit'))
    return EXIT_OK
  }
  const file = positionals[0]
  if (file === undefined) throw usageError('an audit log FILE is required (written with --audit-log FILE)')
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw usageError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? error})`)
  }
  const entries: AuditEntry[] = []
  let bad = 0
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return
    let entry: unknown
    try {
      entry = JSON.parse(line)
    } catch {
      entry = undefined
    }
    if (!isAuditEntry(entry)) {
      bad += 1
      terminal.stderr.write(`capsule audit: ${escapeUntrusted(file)}:${index + 1}: not an audit entry\n`)
      return
    }
    entries.push(entry)
  })
  const capability = values.capability
  const matches = (id: string) =>
    capability === undefined ||
    (capability.endsWith('*') ? id.startsWith(capability.slice(0, -1)) : id === capability)
  let calls = groupAuditEntries(
    entries.filter(
      (entry) =>
        (values.session === undefined || entry.sessionId === values.session) && matches(entry.capability),
    ),
  )
  if (values.denied) calls = calls.filter((call) => call.decision?.decision === 'denied')
  const style = styles(terminal.color)
  for (const line of formatAuditCalls(calls, style)) terminal.stdout.write(`${line}\n`)
  const first = calls[0]?.decision ?? calls[0]?.outcome
  const since = first ? ` since ${escapeUntrusted(first.time.slice(0, 10))}` : ''
  terminal.stdout.write(style.dim(`${summarizeAuditCalls(calls)}${since}`) + '\n')
  return bad > 0 ? EXIT_FAILURE : EXIT_OK
}

function isAuditEntry(value: unknown): value is AuditEntry {
  if (typeof value !== 'object' || value === null) return false
  const entry = value as Record<string, unknown>
  return (
    (entry.type === 'decision' || entry.type === 'outcome') &&
    typeof entry.time === 'string' &&
    typeof entry.callId === 'string' &&
    typeof entry.capability === 'string' &&
    typeof entry.sessionId === 'string'
  )
}

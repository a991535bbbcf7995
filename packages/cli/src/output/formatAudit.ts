import type { AuditEntry } from '@capsule/core'
import { escapeUntrusted } from './escapeUntrusted.js'
import type { Styles } from './terminal.js'

/** One capability call as the audit log tells it: its decision and, once it ended, its outcome. */
export interface AuditedCall {
  callId: string
  decision: AuditEntry | undefined
  outcome: AuditEntry | undefined
}

/** Pairs decision and outcome entries by call id, in the order the calls were first seen. */
export function groupAuditEntries(entries: readonly AuditEntry[]): AuditedCall[] {
  const calls = new Map<string, AuditedCall>()
  for (const entry of entries) {
    let call = calls.get(entry.callId)
    if (!call) {
      call = { callId: entry.callId, decision: undefined, outcome: undefined }
      calls.set(entry.callId, call)
    }
    if (entry.type === 'decision') call.decision = entry
    else call.outcome = entry
  }
  return [...calls.values()]
}

/**
 * Renders audit entries one call per line:
 * `12:00:01.234  ses_1:e2  allowed  fs.read_file {"path":"a.txt"}  → resolved 3 ms, 12 B in, 300 B out  [level:standard]`
 * An audit file may have been written by anyone, and arguments and error details come from the worker, so
 * every text field is escaped (see {@link escapeUntrusted}): one call is always exactly one line.
 */
export function formatAuditCalls(calls: readonly AuditedCall[], style: Styles): string[] {
  return calls.map((call) => {
    const first = call.decision ?? call.outcome!
    const time = field(first.time.slice(11, 23) || first.time)
    const where = field(first.executionId ?? first.sessionId)
    const parts = [style.dim(time), style.dim(where)]
    if (call.decision) {
      parts.push(call.decision.decision === 'denied' ? style.red('DENIED ') : style.green('allowed'))
    } else parts.push(style.yellow('?      '))
    parts.push(`${style.bold(field(first.capability))}${formatArgs(call.decision?.args)}`)
    const outcome = call.outcome
    if (outcome) {
      const details = [field(outcome.state ?? 'done')]
      if (outcome.errorCode) details.push(field(outcome.errorCode))
      if (outcome.durationMs !== undefined) details.push(`${Math.round(Number(outcome.durationMs))} ms`)
      if (outcome.bytesIn) details.push(`${formatBytes(Number(outcome.bytesIn))} in`)
      if (outcome.bytesOut) details.push(`${formatBytes(Number(outcome.bytesOut))} out`)
      const text = `→ ${details.join(', ')}`
      parts.push(outcome.state === 'resolved' ? text : style.yellow(text))
      if (outcome.errorDetail) parts.push(style.dim(`(${field(outcome.errorDetail)})`))
    } else if (call.decision?.decision === 'allowed') parts.push(style.yellow('→ pending'))
    if (call.decision?.rule) parts.push(style.dim(`[${field(call.decision.rule)}]`))
    return parts.join('  ')
  })
}

/** `12 calls: 10 allowed, 2 denied, 1 failed`. */
export function summarizeAuditCalls(calls: readonly AuditedCall[]): string {
  const allowed = calls.filter((call) => call.decision?.decision === 'allowed').length
  const denied = calls.filter((call) => call.decision?.decision === 'denied').length
  const failed = calls.filter((call) => call.outcome && call.outcome.state !== 'resolved').length
  const noun = calls.length === 1 ? 'call' : 'calls'
  return `${calls.length} ${noun}: ${allowed} allowed, ${denied} denied, ${failed} not resolved`
}

const MAX_ARGS_CODE_POINTS = 160

// JSON escapes C0 controls but leaves DEL, C1, bidi controls and U+2028/2029 as they are: escape it too.
function formatArgs(args: unknown): string {
  if (args === undefined) return ''
  const json = JSON.stringify(args)
  if (json === undefined || json === '{}') return ''
  const codePoints = Array.from(json)
  const shown =
    codePoints.length > MAX_ARGS_CODE_POINTS
      ? `${codePoints.slice(0, MAX_ARGS_CODE_POINTS - 1).join('')}…`
      : json
  return ` ${escapeUntrusted(shown)}`
}

// Fields typed as strings may be anything in a hand-edited file.
function field(value: unknown): string {
  return escapeUntrusted(String(value))
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

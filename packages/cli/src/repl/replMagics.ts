import { compareLevels, type SecurityLevel } from '@capsule/core'
import {
  defaultCheckpointFile,
  describeCheckpoint,
  writeCheckpointFile,
} from '../checkpoint/checkpointFile.js'
import { toCliError } from '../cliError.js'
import { storeCheckpointInJournal } from '../journal/journalCheckpoints.js'
import type { OpenedJournal } from '../journal/journalFlag.js'
import { escapeUntrusted as safe } from '../output/escapeUntrusted.js'
import { formatAuditCalls, groupAuditEntries, summarizeAuditCalls } from '../output/formatAudit.js'
import type { Styles } from '../output/terminal.js'
import type { StartedSession } from '../session/startSession.js'

/** The `%` commands of the REPL, with their one-line descriptions. */
export const REPL_MAGICS: Record<string, string> = {
  capabilities: 'what the code may call, and what it may not (and why)',
  audit: '%audit [N]: the last N capability calls of this session (default 20)',
  level: 'the level, grants and sandbox in force',
  info: 'session details: interpreter, pid, codec, counters',
  checkpoint:
    '%checkpoint [FILE]: save the namespace to FILE (default: the --journal journal, else ./capsule-<time>.ckpt)',
  restart: 'a fresh worker (the namespace is lost)',
  help: 'this list',
}

/** What the `%` commands read. */
export interface MagicContext {
  started: StartedSession
  style: Styles
  /** The `--journal` journal, when one is open: `%checkpoint` without a FILE stores there. */
  journal?: OpenedJournal
}

/**
 * `%capabilities`: granted capabilities with their Python signatures, then the ungranted ones and why.
 * Names, signatures and descriptions come from providers (an MCP server's tools among them): escaped.
 */
export function capabilitiesMagic({ started, style }: MagicContext): string {
  const { capsule, session } = started
  const granted = new Set(session.info().capabilities)
  const all = capsule.capabilities()
  const lines = [style.bold(`granted at level ${session.info().level}:`)]
  for (const capability of all.filter((c) => granted.has(c.id))) {
    lines.push(
      `  ${style.green(safe(capability.signature))}  ${style.dim(safe(`${capability.id} · ${capability.level}`))}`,
    )
    if (capability.description) lines.push(`      ${safe(capability.description)}`)
  }
  const missing = all.filter((c) => !granted.has(c.id))
  if (missing.length > 0) {
    lines.push(style.bold('not granted:'))
    const deny = started.resolved.options.deny ?? []
    for (const capability of missing) {
      const rule = deny.find((pattern) => matches(pattern, capability.id))
      const why = rule ? `denied by ${rule}` : `needs level ${capability.level} or --allow ${capability.id}`
      lines.push(`  ${style.dim(safe(capability.id))}  ${style.yellow(safe(why))}`)
    }
  }
  if (all.length <= 1) {
    lines.push(
      style.dim('(no providers: add --fs-root, --allow-host or --allow-command, or a capsule.config.json)'),
    )
  }
  return lines.join('\n')
}

/** `%audit [N]`: this session's last N capability calls. */
export function auditMagic({ started, style }: MagicContext, argument: string | undefined): string {
  const count = argument === undefined ? 20 : Number(argument)
  if (!Number.isInteger(count) || count < 1)
    return style.red('%audit takes a number of calls, e.g. %audit 50')
  const entries = started.recorder.entries.filter((entry) => entry.sessionId === started.session.id)
  const calls = groupAuditEntries(entries)
  if (calls.length === 0) return style.dim('no capability calls yet')
  const shown = calls.slice(-count)
  return [...formatAuditCalls(shown, style), style.dim(summarizeAuditCalls(calls))].join('\n')
}

/** `%level`: the level, allow/deny and the sandbox, and what each level adds. */
export function levelMagic({ started, style }: MagicContext): string {
  const { capsule, session, resolved } = started
  const level = session.info().level
  const sandbox = capsule.sandboxInForce()
  const byLevel = new Map<SecurityLevel, string[]>()
  for (const capability of capsule.capabilities()) {
    byLevel.set(capability.level, [...(byLevel.get(capability.level) ?? []), capability.id])
  }
  const lines = [
    `level    ${style.bold(level)}`,
    `sandbox  ${style.bold(sandbox)}${sandbox === 'none' ? style.yellow('  (no OS isolation: the code has your user’s access)') : ''}`,
    `allow    ${safe((resolved.options.allow ?? []).join(', ')) || style.dim('(none)')}`,
    `deny     ${safe((resolved.options.deny ?? []).join(', ')) || style.dim('(none)')}`,
    style.dim('capabilities by the level that grants them:'),
  ]
  for (const [at, ids] of [...byLevel].sort(([a], [b]) => compareLevels(a, b))) {
    const mark = compareLevels(at, level) <= 0 ? style.green('✓') : style.dim('·')
    lines.push(`  ${mark} ${at.padEnd(12)} ${safe(ids.join(', '))}`)
  }
  return lines.join('\n')
}

/** `%info`: the session snapshot (the interpreter's version and path are reported by it: escaped). */
export function infoMagic({ started, style }: MagicContext): string {
  const info = started.session.info()
  const python = started.capsule.info().python
  const rows: Array<[string, unknown]> = [
    ['session', info.id],
    ['state', info.state],
    ['python', python ? `${python.version} (${python.executable})` : info.python],
    ['codec', info.codec],
    ['sandbox', info.sandbox],
    ['level', info.level],
    [
      'pid',
      info.workerPid === info.pid ? info.pid : `${info.pid} (worker ${info.workerPid} inside the sandbox)`,
    ],
    ['executions', info.executions],
    ['calls', `${info.calls.allowed} allowed, ${info.calls.denied} denied, ${info.calls.failed} failed`],
    ['startup', info.startupMs === undefined ? undefined : `${Math.round(info.startupMs)} ms`],
    ['restarts', info.restarts],
    ['config', started.resolved.configFile ?? '(none)'],
  ]
  return rows.map(([key, value]) => `${style.dim(key.padEnd(11))}${safe(String(value ?? '?'))}`).join('\n')
}

/**
 * `%checkpoint [FILE]`: checkpoints the session between cells and writes the sealed bytes to FILE (0600,
 * atomically) — or, without a FILE when a `--journal` is open, stores them in the journal and prints the
 * id — then says what was saved and what was lost. A new CLI key is saved to its key file first, so
 * `capsule repl --restore FILE|ID` can verify the checkpoint later.
 */
export async function checkpointMagic(
  { started, style, journal }: MagicContext,
  argument: string | undefined,
): Promise<string> {
  try {
    const checkpoint = await started.session.checkpoint()
    started.checkpointKey?.persist()
    if (argument === undefined && journal) {
      const id = await storeCheckpointInJournal(journal.journal, checkpoint.bytes)
      return [
        describeCheckpoint(`${journal.label} as ${id}`, checkpoint),
        style.dim(`restore it with: capsule repl --journal ${journal.label} --restore ${id}`),
      ].join('\n')
    }
    const file = argument ?? defaultCheckpointFile()
    writeCheckpointFile(file, checkpoint.bytes)
    return describeCheckpoint(file, checkpoint)
  } catch (error) {
    const failure = toCliError(error)
    return style.red(safe(`checkpoint failed: ${failure.code}: ${failure.message}`))
  }
}

/** `%help`. */
export function helpMagic({ style }: MagicContext): string {
  const lines = Object.entries(REPL_MAGICS).map(([name, text]) => `  %${name.padEnd(14)}${text}`)
  return [
    style.bold('commands:'),
    ...lines,
    style.bold('keys:'),
    '  Ctrl-C          interrupt the running cell; at the prompt, clear the line',
    '  Ctrl-D          exit',
    style.dim('A cell runs when it is complete Python; end a compound statement with a blank line.'),
  ].join('\n')
}

// The same matching as the security policy: `*`, `provider.*` or an exact id.
function matches(pattern: string, id: string): boolean {
  if (pattern === '*') return true
  if (pattern.endsWith('.*')) return id.startsWith(pattern.slice(0, -1))
  return pattern === id
}

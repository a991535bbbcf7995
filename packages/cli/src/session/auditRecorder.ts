import { closeSync, openSync, writeSync } from 'node:fs'
import type { AuditEntry } from '@capsule/core'
import { CliError, EXIT_USAGE } from '../cliError.js'

/** Entries kept in memory for `%audit` and `--json`; older ones are dropped past this. */
export const MAX_KEPT_AUDIT_ENTRIES = 10_000

/**
 * Receives every audit entry (`onAudit`): keeps them for `%audit`/`--json` and appends them, one JSON object
 * per line, to the `--audit-log` file. A failed write throws, so the call being recorded is refused
 * (the Capsule fails closed).
 */
export class AuditRecorder {
  readonly entries: AuditEntry[] = []
  #fd: number | undefined

  constructor(file?: string) {
    if (file === undefined) return
    try {
      this.#fd = openSync(file, 'a', 0o600)
    } catch (error) {
      throw new CliError(
        'USAGE',
        `--audit-log ${file}: cannot open (${(error as NodeJS.ErrnoException).code ?? error})`,
        EXIT_USAGE,
      )
    }
  }

  /** The `onAudit` callback. */
  readonly record = (entry: AuditEntry): void => {
    if (this.#fd !== undefined) writeSync(this.#fd, `${JSON.stringify(entry)}\n`)
    this.entries.push(entry)
    if (this.entries.length > MAX_KEPT_AUDIT_ENTRIES) this.entries.shift()
  }

  /** Closes the log file. Idempotent. */
  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd)
    this.#fd = undefined
  }
}

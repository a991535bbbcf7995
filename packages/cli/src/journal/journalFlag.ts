import path from 'node:path'
import type { Journal } from '@capsule/core'
import { CliError, EXIT_USAGE, toCliError, usageError } from '../cliError.js'

/** A journal the CLI opened from `--journal`, and how to name it in messages (no password). */
export interface OpenedJournal {
  journal: Journal
  /** `sqlite:/abs/path` or the PostgreSQL URL without its password. */
  label: string
  close(): Promise<void>
}

/**
 * Opens the journal `--journal SPEC` names: `sqlite:PATH` (a file, created when missing; relative to
 * `cwd`) or a `postgres://` / `postgresql://` URL. The backend package is imported only then. The journal
 * is opened (schema checked or created) here, so an unreachable or foreign store is a one-line CliError
 * (exit 2) before any worker starts.
 */
export async function openJournalFlag(spec: string, cwd: string = process.cwd()): Promise<OpenedJournal> {
  let journal: Journal
  let label: string
  if (spec.startsWith('sqlite:')) {
    const file = spec.slice('sqlite:'.length)
    if (file === '') throw usageError('--journal sqlite: needs a file, as in --journal sqlite:capsule.db')
    const absolute = path.resolve(cwd, file)
    const { sqliteJournal } = await import('@capsule/journal-sqlite')
    journal = sqliteJournal({ path: absolute })
    label = `sqlite:${absolute}`
  } else if (/^postgres(ql)?:\/\//.test(spec)) {
    const { postgresJournal } = await import('@capsule/journal-postgres')
    journal = postgresJournal({ connectionString: spec })
    label = withoutPassword(spec)
  } else {
    throw usageError(
      `--journal takes sqlite:PATH or a postgres:// URL (got ${JSON.stringify(withoutPassword(spec))})`,
    )
  }
  try {
    await journal.open()
  } catch (error) {
    await journal.close().catch(() => undefined)
    const failure = toCliError(error)
    throw new CliError(failure.code, `--journal ${label}: ${failure.message}`, EXIT_USAGE, { cause: error })
  }
  return { journal, label, close: () => journal.close() }
}

function withoutPassword(spec: string): string {
  try {
    const url = new URL(spec)
    if (url.password) url.password = '***'
    return url.toString()
  } catch {
    return spec
  }
}

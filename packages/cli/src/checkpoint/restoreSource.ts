import { statSync } from 'node:fs'
import path from 'node:path'
import { CliError, EXIT_USAGE, usageError } from '../cliError.js'
import type { OpenedJournal } from '../journal/journalFlag.js'
import { readCheckpointFile } from './checkpointFile.js'

/** The checkpoint `--restore` names, read: its sealed bytes and how to name it in messages. */
export interface RestoreSource {
  bytes: Uint8Array
  /** The file as given, or `cp_… (sqlite:/…)`. */
  label: string
}

/**
 * Reads what `--restore VALUE` names. An existing file is a file, whatever its name; anything else is a
 * checkpoint id looked up in the `--journal` journal. Without a journal that is a usage error, and so is
 * an id the journal does not hold (exit 2 either way: nothing ran).
 */
export async function readRestoreSource(
  value: string,
  journal: OpenedJournal | undefined,
  cwd: string = process.cwd(),
): Promise<RestoreSource> {
  if (statSync(path.resolve(cwd, value), { throwIfNoEntry: false })?.isFile()) {
    return { bytes: readCheckpointFile(path.resolve(cwd, value)), label: value }
  }
  if (!journal) {
    throw usageError(
      `--restore ${value}: no such file; to restore a checkpoint id, name its journal with --journal sqlite:PATH or --journal postgres://…`,
    )
  }
  const record = await journal.journal.getCheckpoint(value)
  if (!record) {
    throw new CliError(
      'UNKNOWN_CHECKPOINT',
      `--restore ${value}: no such file, and ${journal.label} holds no checkpoint with that id`,
      EXIT_USAGE,
    )
  }
  return { bytes: record.blob, label: `${value} (${journal.label})` }
}

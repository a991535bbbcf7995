import { randomBytes } from 'node:crypto'
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import type { Session } from '@capsule/core'
import { CliError, EXIT_FAILURE, usageError } from '../cliError.js'
import { escapeUntrusted as safe } from '../output/escapeUntrusted.js'

/** A session's checkpoint, as `session.checkpoint()` returns it. */
export type SessionCheckpoint = Awaited<ReturnType<Session['checkpoint']>>
/** What a restore brought back, as `session.lastRestore` holds it. */
export type SessionRestoreReport = NonNullable<Session['lastRestore']>

/**
 * Writes sealed checkpoint bytes to `file` atomically: a temp file beside it (0600), then a rename, so a
 * reader never sees half a checkpoint and a crash leaves the previous one in place.
 */
export function writeCheckpointFile(file: string, bytes: Uint8Array): void {
  const target = path.resolve(file)
  const temp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${randomBytes(4).toString('hex')}.tmp`,
  )
  try {
    writeFileSync(temp, bytes, { mode: 0o600, flag: 'wx' })
    renameSync(temp, target)
  } catch (error) {
    rmSync(temp, { force: true })
    throw new CliError(
      'CHECKPOINT_WRITE',
      `cannot write the checkpoint to ${file} (${(error as NodeJS.ErrnoException).code ?? error})`,
      EXIT_FAILURE,
    )
  }
}

/** Reads a checkpoint file for `--restore` (its signature is checked by the Capsule, not here). */
export function readCheckpointFile(file: string): Uint8Array {
  try {
    return readFileSync(path.resolve(file))
  } catch (error) {
    throw usageError(`cannot read the checkpoint ${file} (${(error as NodeJS.ErrnoException).code ?? error})`)
  }
}

/** The default `%checkpoint` file: `./capsule-<UTC time>.ckpt`. */
export function defaultCheckpointFile(now: Date = new Date()): string {
  return `capsule-${now.toISOString().replace(/[:.]/g, '-')}.ckpt`
}

/**
 * What a saved checkpoint holds and what it lost, in a few lines. `where` is the file, or the journal and
 * the checkpoint's id. Names come from Python: escaped.
 */
export function describeCheckpoint(where: string, checkpoint: SessionCheckpoint): string {
  const { names } = checkpoint.header
  const lines = [
    `checkpoint saved to ${safe(where)} (${formatBytes(checkpoint.bytes.byteLength)})`,
    `  data       ${list(names.data)}`,
    `  redefined  ${list(names.redefined)}`,
  ]
  lines.push(...lost(names.lost))
  return lines.join('\n')
}

/** What a restore brought back and what it did not, in a few lines (`from`: the file, or id and journal). */
export function describeRestore(from: string, report: SessionRestoreReport): string {
  const lines = [
    `restored from ${safe(from)}`,
    `  restored   ${list(report.restored)}`,
    `  redefined  ${list(report.redefined)}`,
  ]
  lines.push(...lost(report.lost))
  if (report.missingCapabilities.length > 0) {
    lines.push(`  not granted here: ${list(report.missingCapabilities)}`)
  }
  return lines.join('\n')
}

function lost(items: readonly { name: string; reason: string }[]): string[] {
  if (items.length === 0) return ['  lost       (none)']
  return items.map(
    (item, index) =>
      `${index === 0 ? '  lost       ' : '             '}${safe(`${item.name}: ${item.reason}`)}`,
  )
}

function list(names: readonly string[]): string {
  return names.length === 0 ? '(none)' : safe(names.join(', '))
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

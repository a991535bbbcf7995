import { CliError, EXIT_USAGE, toCliError } from '../cliError.js'
import type { CheckpointKey } from './checkpointKey.js'

/**
 * A refused checkpoint as the CLI reports it: the Capsule's reason, plus which key was tried when the
 * signature did not match (the usual cause is a checkpoint made with another key). Other errors pass as
 * they are.
 */
export function explainRefusedCheckpoint(error: unknown, key: CheckpointKey): CliError {
  const failure = toCliError(error)
  if (failure.code !== 'CHECKPOINT_INVALID') return failure
  const reason = (failure.cause as { details?: { reason?: unknown } } | undefined)?.details?.reason
  if (reason !== 'signature') return failure
  const tried =
    key.source === 'env'
      ? 'the key in CAPSULE_CHECKPOINT_KEY'
      : key.source === 'file'
        ? `the key in ${key.file}`
        : `no key (neither CAPSULE_CHECKPOINT_KEY nor ${key.file} exists)`
  return new CliError(
    failure.code,
    `${failure.message}: it was altered, or signed with another key (tried ${tried})`,
    EXIT_USAGE,
    { cause: error },
  )
}

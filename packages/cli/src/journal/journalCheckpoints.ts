import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Journal } from '@capsule/core'
import { CliError, EXIT_FAILURE } from '../cliError.js'

/**
 * The journal session the CLI files its checkpoints under. Journal checkpoints belong to a session and are
 * written under its lease; a REPL session is not durable, so the CLI keeps one session record of its own
 * that runs nothing (recovery finds no execution in it).
 */
export const CLI_CHECKPOINT_SESSION = 'capsule-cli/checkpoints'

const LEASE_TTL_MS = 30_000
const CLAIM_ATTEMPTS = 20
const CLAIM_RETRY_MS = 100

/**
 * Stores sealed checkpoint bytes in `journal` and returns the new id (`cp_…`), which
 * `capsule repl --journal … --restore ID` and `capsule.session({ restore: id })` on the same journal take.
 * Two CLIs storing at once take turns on the session's lease.
 */
export async function storeCheckpointInJournal(journal: Journal, bytes: Uint8Array): Promise<string> {
  await journal.ensureSession({
    key: CLI_CHECKPOINT_SESSION,
    pythonHashSeed: 0,
    policyFingerprint: 'capsule-cli',
  })
  const owner = `capsule-cli@${hostname()}:${process.pid}`
  for (let attempt = 0; attempt < CLAIM_ATTEMPTS; attempt += 1) {
    const lease = await journal.claimLease({ sessionKey: CLI_CHECKPOINT_SESSION, owner, ttlMs: LEASE_TTL_MS })
    if (lease) {
      const token = { sessionKey: lease.sessionKey, owner: lease.owner, epoch: lease.epoch }
      const id = `cp_${randomBytes(12).toString('hex')}`
      try {
        await journal.putCheckpoint(token, { id, sequence: 0, blob: bytes })
      } finally {
        await journal.releaseLease(token).catch(() => undefined)
      }
      return id
    }
    await new Promise((resolve) => setTimeout(resolve, CLAIM_RETRY_MS))
  }
  throw new CliError(
    'JOURNAL_BUSY',
    'another process holds the journal’s checkpoint lease; try again',
    EXIT_FAILURE,
  )
}

import { Capsule, compareLevels, type Session } from '@capsule/core'
import type { CheckpointKey } from '../checkpoint/checkpointKey.js'
import { toCliError } from '../cliError.js'
import type { CapsuleFlags } from '../config/capsuleFlags.js'
import { type ResolvedCapsuleOptions, resolveCapsuleOptions } from '../config/resolveCapsuleOptions.js'
import { Spinner } from '../output/spinner.js'
import type { Terminal } from '../output/terminal.js'
import { AuditRecorder } from './auditRecorder.js'

/** A started Capsule with one session, and what the CLI keeps beside it. */
export interface StartedSession {
  capsule: Capsule
  session: Session
  recorder: AuditRecorder
  resolved: ResolvedCapsuleOptions
  /** Notes for the user (a provider configured by flags that the level does not grant). */
  notes: string[]
  /** The CLI's checkpoint key, when the Capsule signs with it (not when the config file sets one). */
  checkpointKey?: CheckpointKey
  /** Closes the session, the Capsule and the audit log. */
  close(): Promise<void>
}

/** How a command that checkpoints or restores starts its session. */
export interface SessionCheckpointing {
  /** Signs and verifies checkpoints, unless the config file sets `checkpointKey`. */
  key: CheckpointKey
  /** Sealed checkpoint bytes the session starts from. */
  restore?: Uint8Array
}

/**
 * Builds the Capsule from flags and config, and starts one session (from a checkpoint when `checkpointing`
 * has one), with a spinner on a terminal while the worker starts. Failures are CliErrors (exit 2 for setup
 * problems such as SANDBOX_UNAVAILABLE or a refused checkpoint).
 */
export async function startSession(
  flags: CapsuleFlags,
  terminal: Terminal,
  quiet: boolean,
  checkpointing?: SessionCheckpointing,
): Promise<StartedSession> {
  const resolved = await resolveCapsuleOptions(flags)
  const recorder = new AuditRecorder(flags.auditLog)
  const cliKey = checkpointing && resolved.options.checkpointKey === undefined ? checkpointing.key : undefined
  let capsule: Capsule
  try {
    capsule = new Capsule({
      ...resolved.options,
      ...(cliKey ? { checkpointKey: cliKey.key } : {}),
      onAudit: recorder.record,
    })
  } catch (error) {
    recorder.close()
    throw toCliError(error)
  }
  const spinner = new Spinner(terminal.stderr, terminal.interactive && !quiet)
  spinner.start(`starting Python (${level(capsule)}, sandbox ${capsule.sandboxInForce()})`)
  let session: Session
  try {
    session = await capsule.session(checkpointing?.restore ? { restore: checkpointing.restore } : {})
  } catch (error) {
    spinner.stop()
    await capsule.close()
    recorder.close()
    throw toCliError(error)
  } finally {
    spinner.stop()
  }
  const notes = ungrantedProviderNotes(capsule, session, resolved.flagProviders)
  return {
    capsule,
    session,
    recorder,
    resolved,
    notes,
    ...(cliKey ? { checkpointKey: cliKey } : {}),
    close: async () => {
      await capsule.close()
      recorder.close()
    },
  }
}

function level(capsule: Capsule): string {
  return `level ${capsule.level}`
}

// A provider added by a flag whose capabilities the level does not grant is almost always a mistake.
function ungrantedProviderNotes(capsule: Capsule, session: Session, providers: string[]): string[] {
  const granted = new Set(session.info().capabilities)
  const flagNames: Record<string, string> = {
    http: '--allow-host',
    fs: '--fs-root',
    shell: '--allow-command',
  }
  const notes: string[] = []
  for (const provider of providers) {
    const capabilities = capsule.capabilities().filter((capability) => capability.provider.name === provider)
    if (capabilities.length === 0 || capabilities.some((capability) => granted.has(capability.id))) continue
    const lowest = capabilities.map((capability) => capability.level).sort(compareLevels)[0]
    notes.push(
      `${flagNames[provider]} configures ${provider}.* but level ${capsule.level} grants none of it; ` +
        `use --level ${lowest} or --allow ${provider}.*`,
    )
  }
  return notes
}

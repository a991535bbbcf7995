import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import path from 'node:path'
import { CliError, EXIT_FAILURE, EXIT_USAGE } from '../cliError.js'

/** Bytes a checkpoint key must have at least (as Capsule's `checkpointKey` requires). */
const MIN_KEY_BYTES = 32

/**
 * The key the CLI signs checkpoints with, stable across invocations so `capsule run --checkpoint-to` and
 * `capsule repl --restore` of another day agree: `$CAPSULE_CHECKPOINT_KEY` when set, else the key file
 * (`$XDG_CONFIG_HOME/capsule/checkpoint-key`, else `~/.config/capsule/checkpoint-key`). When neither
 * exists a fresh key is used, and written to the key file (0600) only by {@link CheckpointKey.persist},
 * the first time a checkpoint is saved: commands that never checkpoint leave the home directory alone.
 */
export class CheckpointKey {
  /** The key in force. */
  readonly key: string
  /** Where it came from: the environment, the key file, or new (not saved yet). */
  readonly source: 'env' | 'file' | 'new'
  readonly #file: string
  #saved: boolean

  private constructor(key: string, source: CheckpointKey['source'], file: string) {
    this.key = key
    this.source = source
    this.#file = file
    this.#saved = source !== 'new'
  }

  /** Reads the key from the environment or the key file, else makes a new one (see the class). */
  static resolve(env: NodeJS.ProcessEnv = process.env): CheckpointKey {
    const file = checkpointKeyPath(env)
    const fromEnv = env.CAPSULE_CHECKPOINT_KEY
    if (fromEnv !== undefined && fromEnv !== '') {
      if (Buffer.byteLength(fromEnv) < MIN_KEY_BYTES) {
        throw new CliError(
          'CONFIG',
          `CAPSULE_CHECKPOINT_KEY must be at least ${MIN_KEY_BYTES} bytes (got ${Buffer.byteLength(fromEnv)})`,
          EXIT_USAGE,
        )
      }
      return new CheckpointKey(fromEnv, 'env', file)
    }
    const stored = readKeyFile(file)
    if (stored !== undefined) return new CheckpointKey(stored, 'file', file)
    return new CheckpointKey(randomBytes(32).toString('hex'), 'new', file)
  }

  /** Where the key file is (or would be). */
  get file(): string {
    return this.#file
  }

  /**
   * Saves a new key to the key file (0600, in a 0700 directory), before the first checkpoint signed with it
   * leaves the process. Refuses when another process created the file meanwhile: its key is not this one.
   */
  persist(): void {
    if (this.#saved) return
    try {
      mkdirSync(path.dirname(this.#file), { recursive: true, mode: 0o700 })
      writeFileSync(this.#file, `${this.key}\n`, { mode: 0o600, flag: 'wx' })
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error)
      throw new CliError(
        'CHECKPOINT_KEY',
        code === 'EEXIST'
          ? `${this.#file} was created by another capsule while this one ran; start again to use its key`
          : `cannot save the checkpoint key to ${this.#file} (${code}); set CAPSULE_CHECKPOINT_KEY instead`,
        // The code has run by now: this is a failure of the run, not a setup that kept it from running.
        EXIT_FAILURE,
      )
    }
    this.#saved = true
  }
}

/** `$XDG_CONFIG_HOME/capsule/checkpoint-key`, else `~/.config/capsule/checkpoint-key`. */
export function checkpointKeyPath(env: NodeJS.ProcessEnv = process.env): string {
  const configHome = env.XDG_CONFIG_HOME || path.join(homedir(), '.config')
  return path.join(configHome, 'capsule', 'checkpoint-key')
}

function readKeyFile(file: string): string | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8').trim()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new CliError(
      'CHECKPOINT_KEY',
      `cannot read the checkpoint key ${file} (${(error as NodeJS.ErrnoException).code ?? error})`,
    )
  }
  if (Buffer.byteLength(text) < MIN_KEY_BYTES) {
    throw new CliError(
      'CHECKPOINT_KEY',
      `the checkpoint key in ${file} is shorter than ${MIN_KEY_BYTES} bytes`,
    )
  }
  return text
}

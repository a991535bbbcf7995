/** Exit code of a run that succeeded. */
export const EXIT_OK = 0
/** Exit code when the Python code failed (an exception, a timeout) or the worker died while it ran. */
export const EXIT_FAILURE = 1
/** Exit code when nothing ran: bad flags, a bad config, or a sandbox/interpreter that cannot start. */
export const EXIT_USAGE = 2
/** Exit code when Ctrl-C interrupted the code (128 + SIGINT, as shells report it). */
export const EXIT_INTERRUPTED = 130

/**
 * An error the CLI reports in one line on stderr before exiting with `exitCode`. `code` is stable:
 * `USAGE` (flags), `CONFIG` (a config file), or a CapsuleError code passed through.
 */
export class CliError extends Error {
  override readonly name = 'CliError'
  readonly code: string
  readonly exitCode: number

  constructor(code: string, message: string, exitCode: number = EXIT_USAGE, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.exitCode = exitCode
  }
}

/** A usage error: bad or missing flags. Always exit code 2. */
export function usageError(message: string): CliError {
  return new CliError('USAGE', message, EXIT_USAGE)
}

// Codes meaning nothing could run because of the setup, not the code: exit 2, like a bad flag.
const SETUP_ERROR_CODES = new Set([
  'INVALID_OPTIONS',
  'INVALID_PROVIDER',
  'SANDBOX_UNAVAILABLE',
  'PYTHON_NOT_FOUND',
  'PYTHON_UNSUPPORTED',
  'CHECKPOINT_INVALID',
])

/**
 * Maps any failure to a one-line CliError: CapsuleErrors keep their code (setup problems such as
 * SANDBOX_UNAVAILABLE exit 2, the rest 1); anything else is INTERNAL. Recognises CapsuleError by shape so
 * this module does not load @capsule/core.
 */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error
  const message = oneLine(error instanceof Error ? error.message : String(error))
  const code =
    error instanceof Error && error.name === 'CapsuleError' ? (error as { code?: unknown }).code : undefined
  if (typeof code === 'string') {
    return new CliError(code, message, SETUP_ERROR_CODES.has(code) ? EXIT_USAGE : EXIT_FAILURE, {
      cause: error,
    })
  }
  return new CliError('INTERNAL', message, EXIT_FAILURE, { cause: error })
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}

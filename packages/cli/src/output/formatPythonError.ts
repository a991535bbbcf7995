import type { ExecutionResult } from '@capsule/core'
import { escapeUntrusted } from './escapeUntrusted.js'

/**
 * The text the CLI prints on stderr for a Python exception: its traceback (or `ename: evalue` when it has
 * none), ending in a newline. It is several lines by nature, so newlines stay; every other control
 * character is escaped, since an exception's message may quote text from anywhere (a server's reply, a
 * file name).
 */
export function formatPythonError(error: NonNullable<ExecutionResult['error']>): string {
  const { ename, evalue, traceback } = error
  const text = traceback.length > 0 ? traceback.join('') : `${ename}: ${evalue}\n`
  return escapeUntrusted(text, { keepNewlines: true })
}

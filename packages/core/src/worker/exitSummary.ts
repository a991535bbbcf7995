/** How many characters of a dead worker's stderr a WORKER_EXITED message quotes. */
export const EXIT_SUMMARY_CHARS = 500

/**
 * The part of a dead worker's stderr tail worth putting in an error message. A fatal signal makes
 * faulthandler print `Fatal Python error: …` and the stack newest call first, so the useful lines are
 * at the top and the worker's own frames follow: quote from the fatal line on, without the worker's
 * and importlib's frames. Otherwise the end of the tail, where the last words are.
 */
export function exitSummary(stderrTail: string, maxChars = EXIT_SUMMARY_CHARS): string {
  const fatal = stderrTail.lastIndexOf('Fatal Python error')
  if (fatal < 0) return stderrTail.slice(-maxChars)
  const lines = stderrTail
    .slice(fatal)
    .split('\n')
    .filter((line) => !/capsule_worker|<frozen importlib|importlib\/__init__/.test(line))
  return lines.join('\n').trim().slice(0, maxChars)
}

// What the CLI says about a run (audit lines, error lines, tracebacks, status and REPL lines) goes through
// here; what the cell printed on purpose (its stdout and stderr, display text, input() prompts) does not,
// since the user asked for those bytes, and --json output is escaped by JSON itself.

// C0 and C1 controls and DEL (\p{Cc}), bidi embeddings, overrides, isolates and marks (\p{Bidi_Control}),
// the line and paragraph separators, and lone surrogates (\p{Cs}: with the `u` flag a well-formed pair is
// one code point, so only unpaired halves match).
const UNSAFE = /[\p{Cc}\p{Bidi_Control}\u2028\u2029\p{Cs}]/gu
const UNSAFE_KEEPING_LINES = /[^\P{Cc}\n\t]|[\p{Bidi_Control}\u2028\u2029\p{Cs}]/gu

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' }

/** Options of {@link escapeUntrusted}. */
export interface EscapeUntrustedOptions {
  /**
   * Keep `\n` and `\t` as they are, for text that is several lines by nature (a Python traceback). Every
   * other control is still escaped, `\r` included, so no line can be overwritten. Default false.
   */
  keepNewlines?: boolean
}

/**
 * Makes untrusted text safe to show on a terminal: every control character (C0, DEL, C1), Unicode bidi
 * control, line or paragraph separator (U+2028, U+2029) and lone surrogate is replaced by a visible escape
 * (`\n`, `\r`, `\t`, `\x1b`, `\x7f`, `\x9b`, `\u202e`, `\u2028`, `\ud800`). So a newline cannot forge a
 * line, ESC, CSI or OSC cannot reach the terminal (the rest of the sequence stays as plain text), and a
 * right-to-left override cannot reorder what follows. Backslashes are left alone: the aim is a safe
 * display, and JSON text shown this way (audit arguments) keeps its own escapes readable.
 */
export function escapeUntrusted(text: string, options: EscapeUntrustedOptions = {}): string {
  return text.replace(options.keepNewlines ? UNSAFE_KEEPING_LINES : UNSAFE, escapeCharacter)
}

function escapeCharacter(character: string): string {
  const named = NAMED[character]
  if (named !== undefined) return named
  const code = character.charCodeAt(0)
  return code <= 0xff ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`
}

function hex(code: number, digits: number): string {
  return code.toString(16).padStart(digits, '0')
}

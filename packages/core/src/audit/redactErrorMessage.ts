import { redactUrlSecrets, SENSITIVE_KEYS } from './auditLog.js'

/** The longest error detail the audit and the host log keep. */
const MAX_DETAIL_CHARS = 500
// A run of token characters long enough to be a key, with a letter and a digit in it (API keys, JWT parts,
// hex digests, UUIDs). Plain words and paths (`/` is not a token character) do not match.
const TOKEN_LIKE = /[A-Za-z0-9_+=-]{24,}/g
const MAX_SECRET_VALUES = 50

/**
 * The message of an error a handler threw (anything but a CapabilityError), made fit for the audit's
 * `errorDetail` and the host log: `Name: message` with the values of the call's secret arguments (its
 * `secretArgs` and the always-sensitive names, at any depth), URL secrets and token-like runs replaced
 * by `[redacted]`, cut to 500 characters. A handler's message may quote anything it was given, so it is
 * redacted like the arguments, never copied verbatim.
 */
export function redactErrorMessage(error: unknown, args: unknown, secretKeys: ReadonlySet<string>): string {
  const name = error instanceof Error ? error.name : typeof error
  let message = error instanceof Error ? error.message : String(error)
  for (const secret of secretValues(args, secretKeys)) message = message.split(secret).join('[redacted]')
  message = redactUrlSecrets(message).replace(TOKEN_LIKE, (run) =>
    /[A-Za-z]/.test(run) && /\d/.test(run) ? '[redacted]' : run,
  )
  const detail = `${name}: ${message}`
  return detail.length > MAX_DETAIL_CHARS ? `${detail.slice(0, MAX_DETAIL_CHARS)}…` : detail
}

// The string values under secret names, longest first so a secret containing another is replaced whole.
function secretValues(args: unknown, secretKeys: ReadonlySet<string>): string[] {
  const found: string[] = []
  const visit = (value: unknown, secret: boolean, depth: number): void => {
    if (found.length >= MAX_SECRET_VALUES || depth > 8) return
    if (typeof value === 'string') {
      // Too short a value would redact ordinary words of the message.
      if (secret && value.length >= 4) found.push(value)
      return
    }
    if (typeof value !== 'object' || value === null) return
    for (const [key, item] of Object.entries(value).slice(0, 50)) {
      visit(item, secret || secretKeys.has(key) || SENSITIVE_KEYS.has(key.toLowerCase()), depth + 1)
    }
  }
  visit(args, false, 0)
  return found.sort((a, b) => b.length - a.length)
}

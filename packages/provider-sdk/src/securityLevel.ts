/**
 * The security levels, weakest grant first. Each capability declares the lowest level that grants it;
 * a session at a level gets every capability declared at or below it.
 */
export const SECURITY_LEVELS = ['sandbox', 'restricted', 'standard', 'trusted', 'unrestricted'] as const

/** One of {@link SECURITY_LEVELS}. */
export type SecurityLevel = (typeof SECURITY_LEVELS)[number]

/** Whether `value` names a security level. */
export function isSecurityLevel(value: unknown): value is SecurityLevel {
  return typeof value === 'string' && (SECURITY_LEVELS as readonly string[]).includes(value)
}

/** Orders levels: negative when `a` grants less than `b`, zero when equal. */
export function compareLevels(a: SecurityLevel, b: SecurityLevel): number {
  return SECURITY_LEVELS.indexOf(a) - SECURITY_LEVELS.indexOf(b)
}

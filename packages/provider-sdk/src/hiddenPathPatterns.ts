/**
 * The name patterns a provider that exposes host files hides by default: dot files and dot directories
 * (`.git/`, `.env*`, `.ssh/`, `.npmrc`) and common key and certificate files. Each is a glob over one path
 * component, matched case-insensitively against every component, so `keys/server.PEM` and `.git/config`
 * are both hidden. The files provider refuses such paths and the shell provider masks them in its sandbox;
 * both let the host opt paths back in (`allowHidden`). Shared here so the two cannot drift apart.
 */
export const DEFAULT_HIDDEN_PATTERNS: readonly string[] = Object.freeze([
  '.*',
  '*.pem',
  '*.key',
  '*.p12',
  '*.pfx',
  'id_rsa*',
  'id_dsa*',
  'id_ecdsa*',
  'id_ed25519*',
])

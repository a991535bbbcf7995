import { readFileSync } from 'node:fs'

/** The version of @capsule/cli, read from its package.json (one source of truth). */
export const CLI_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version

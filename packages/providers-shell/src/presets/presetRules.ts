import type { ShellPreset } from '../shellProviderOptions.js'
import { checkCatArgs, checkLsArgs, checkSortArgs, checkWcArgs } from './fileToolPresets.js'
import { checkGitArgs } from './gitPreset.js'
import type { PresetCheck } from './presetContext.js'
import { checkFindArgs, checkGrepArgs, checkRgArgs } from './searchToolPresets.js'
import { checkTarArgs } from './tarPreset.js'

/** The argument check of each first-party preset. */
export const PRESET_CHECKS: Readonly<Record<ShellPreset, PresetCheck>> = {
  git: checkGitArgs,
  ls: checkLsArgs,
  cat: checkCatArgs,
  grep: checkGrepArgs,
  rg: checkRgArgs,
  find: checkFindArgs,
  wc: checkWcArgs,
  tar: checkTarArgs,
  sort: checkSortArgs,
}

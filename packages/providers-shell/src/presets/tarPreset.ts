import { checkFlags, type OptionSyntax, optionIs, scanArgs } from '../argvScan.js'
import { checkPathOperands } from './pathOperands.js'
import type { PresetCheck } from './presetContext.js'

const TAR_SYNTAX: OptionSyntax = {
  shortWithValue: 'bCfFgHIKLNTVX',
  // Flags that are prefixes of options with a value (`--sparse` of `--sparse-version`).
  longFlags: ['--xattrs', '--sparse', '--checkpoint', '--exclude-vcs', '--exclude-caches'],
  longWithValue: [
    '--add-file',
    '--after-date',
    '--blocking-factor',
    '--checkpoint-action',
    '--directory',
    '--exclude',
    '--exclude-from',
    '--exclude-tag',
    '--exclude-tag-all',
    '--exclude-tag-under',
    '--file',
    '--files-from',
    '--format',
    '--group',
    '--group-map',
    '--hole-detection',
    '--index-file',
    '--info-script',
    '--label',
    '--level',
    '--listed-incremental',
    '--mode',
    '--mtime',
    '--new-volume-script',
    '--newer',
    '--newer-mtime',
    '--owner',
    '--owner-map',
    '--pax-option',
    '--quoting-style',
    '--record-size',
    '--rmt-command',
    '--rsh-command',
    '--sort',
    '--sparse-version',
    '--starting-file',
    '--strip-components',
    '--suffix',
    '--tape-length',
    '--to-command',
    '--transform',
    '--use-compress-program',
    '--volno-file',
    '--warning',
    '--xattrs-exclude',
    '--xattrs-include',
    '--xform',
  ],
}

/**
 * Options of GNU tar refused by the preset: those that run programs (`-I`/`--use-compress-program`,
 * `--to-command`, `--checkpoint-action`, `-F`/`--info-script`/`--new-volume-script`, `--rsh-command`,
 * `--rmt-command`) and those that leave the roots (`-P`/`--absolute-names` writes absolute paths,
 * `-h`/`--dereference` follows symlinks). The built-in compressors (`-z`, `-j`, `-J`, `--zstd`, `-a`…)
 * stay allowed: tar runs them from the fixed search path with arguments of its own.
 */
export const TAR_DENIED_FLAGS: readonly string[] = [
  '-I',
  '--use-compress-program',
  '--to-command',
  '--checkpoint-action',
  '-F',
  '--info-script',
  '--new-volume-script',
  '--rsh-command',
  '--rmt-command',
  '-P',
  '--absolute-names',
  '-h',
  '--dereference',
]

/** Options whose value is a file or directory tar reads or writes. */
const TAR_PATH_OPTIONS: readonly string[] = [
  '-f',
  '--file',
  '-C',
  '--directory',
  '-T',
  '--files-from',
  '-X',
  '--exclude-from',
  '-g',
  '--listed-incremental',
  '--index-file',
  '--volno-file',
  '--add-file',
  '--group-map',
  '--owner-map',
]

/** Options whose value is a date, or a reference file when it starts with `/` or `.` (tar's own rule). */
const TAR_DATE_OR_FILE_OPTIONS: readonly string[] = ['-N', '--newer', '--after-date', '--mtime']

/**
 * GNU `tar`: options must be written with a dash (an old-style bundle such as `tar xIf prog` hides
 * option letters); {@link TAR_DENIED_FLAGS} are refused; operands and every file option's value must
 * be inside a root and not hidden; an archive name with a colon before any slash (`host:file`, which
 * tar opens through a remote shell) needs `--force-local`; and `-T`/`--files-from` needs
 * `--verbatim-files-from` before it, since a file list may otherwise hold options such as `-C /`.
 */
export const checkTarArgs: PresetCheck = (args, ctx) => {
  if (args.length > 0 && !args[0]!.startsWith('-'))
    return 'tar options must start with a dash (tar -cf, not tar cf)'
  const { options, operands } = scanArgs(args, TAR_SYNTAX)
  const reason = checkFlags(options, { denyFlags: TAR_DENIED_FLAGS, exactOptions: ['--checkpoint'] })
  if (reason !== undefined) return `tar: ${reason}`
  const forceLocal = options.some((o) => optionIs(o, ['--force-local']))
  let verbatim = false
  const paths: string[] = []
  for (const option of options) {
    if (optionIs(option, ['--verbatim-files-from'])) verbatim = true
    if (optionIs(option, ['--no-verbatim-files-from'])) verbatim = false
    if (option.value === undefined) continue
    if (optionIs(option, ['-T', '--files-from']) && !verbatim)
      return 'tar -T/--files-from needs --verbatim-files-from before it (a file list may hold options)'
    if (optionIs(option, ['-f', '--file']) && !forceLocal && /^[^/]*:/.test(option.value))
      return 'tar archive names with a colon open a remote shell; add --force-local or write ./name'
    if (optionIs(option, TAR_PATH_OPTIONS)) paths.push(option.value)
    else if (optionIs(option, TAR_DATE_OR_FILE_OPTIONS) && /^[/.]/.test(option.value))
      paths.push(option.value)
  }
  return checkPathOperands([...paths, ...operands], ctx)
}

import path from 'node:path'
import { CliError, EXIT_FAILURE, EXIT_OK, usageError } from '../cliError.js'
import { parseCommandArgs } from '../commandArgs.js'
import { CAPSULE_FLAG_OPTIONS, type CapsuleFlags, readCapsuleFlags } from '../config/capsuleFlags.js'
import { type ResolvedCapsuleOptions, resolveCapsuleOptions } from '../config/resolveCapsuleOptions.js'
import { DOCTOR_CHECKS } from '../doctor/doctorChecks.js'
import { DoctorContext, type DoctorSettings, limitsInForce } from '../doctor/doctorContext.js'
import { formatDoctorCheck, formatDoctorSummary } from '../doctor/formatDoctorReport.js'
import { runDoctor } from '../doctor/runDoctor.js'
import { commandHelp } from '../help.js'
import { escapeUntrusted } from '../output/escapeUntrusted.js'
import { Spinner } from '../output/spinner.js'
import { styles, type Terminal } from '../output/terminal.js'

const DOCTOR_OPTIONS = {
  ...CAPSULE_FLAG_OPTIONS,
  'bwrap-path': { type: 'string' },
  json: { type: 'boolean' },
} as const

/**
 * `capsule doctor`: checks this machine for what Capsule needs (bubblewrap, user namespaces, the uid drop
 * of a root host, cgroups, the interpreter, msgpack, the scientific stack inside the sandbox, Node), with
 * the fix for each problem. Exit 0 when no check fails (warnings included), 1 otherwise.
 */
export async function doctorCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { values } = parseCommandArgs(args, DOCTOR_OPTIONS)
  if (values.help) {
    terminal.stdout.write(commandHelp('doctor'))
    return EXIT_OK
  }
  const flags = readCapsuleFlags(values)
  const bwrapPath = values['bwrap-path']
  if (bwrapPath !== undefined && bwrapPath.trim() === '') throw usageError('--bwrap-path takes a path')
  const settings = await doctorSettings(flags, bwrapPath === undefined ? undefined : path.resolve(bwrapPath))
  const context = new DoctorContext(settings)
  const json = values.json === true
  const style = styles(terminal.color)
  const spinner = new Spinner(terminal.stderr, terminal.interactive && !json)
  if (!json) {
    terminal.stdout.write(
      `capsule doctor · Node ${process.versions.node} · ${context.isRoot ? 'root' : `uid ${process.geteuid?.()}`} · ${escapeUntrusted(process.platform)}/${process.arch}\n`,
    )
  }
  let next = 0
  spinner.start(`checking ${DOCTOR_CHECKS[0]?.id}`)
  const report = await runDoctor(DOCTOR_CHECKS, context, (result) => {
    next += 1
    spinner.stop()
    if (!json) terminal.stdout.write(formatDoctorCheck(result, style))
    const upcoming = DOCTOR_CHECKS[next]
    if (upcoming) spinner.start(`checking ${upcoming.id}`)
  })
  spinner.stop()
  if (json) terminal.stdout.write(`${JSON.stringify(report)}\n`)
  else terminal.stdout.write(formatDoctorSummary(report.checks))
  return report.ok ? EXIT_OK : EXIT_FAILURE
}

// A broken config file is itself a finding: the other checks then run on the flags alone.
async function doctorSettings(flags: CapsuleFlags, bwrapPath: string | undefined): Promise<DoctorSettings> {
  let resolved: ResolvedCapsuleOptions
  let configError: string | undefined
  try {
    resolved = await resolveCapsuleOptions(flags)
  } catch (error) {
    if (!(error instanceof CliError) || error.code !== 'CONFIG') throw error
    configError = error.message
    resolved = await resolveCapsuleOptions({ ...flags, config: undefined, noConfig: true })
  }
  const options = { ...resolved.options, providers: [] }
  if (bwrapPath !== undefined) options.bwrapPath = bwrapPath
  const python = options.python ?? process.env.CAPSULE_PYTHON ?? 'python3'
  const pythonSource =
    flags.python !== undefined
      ? '--python'
      : options.python !== undefined
        ? `"python" in ${resolved.configFile}`
        : process.env.CAPSULE_PYTHON !== undefined
          ? 'CAPSULE_PYTHON'
          : 'the default: python3 on PATH'
  const mode = options.sandbox ?? 'auto'
  const level = options.level ?? 'standard'
  return {
    options,
    python,
    pythonSource,
    sandboxInForce: mode === 'none' || (mode === 'auto' && level === 'unrestricted') ? 'none' : 'bwrap',
    limits: limitsInForce(options),
    configFile: configError === undefined ? resolved.configFile : undefined,
    configError,
  }
}

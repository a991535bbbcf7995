import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { ExecutionResult, Session } from '@capsule/core'
import {
  describeCheckpoint,
  type SessionCheckpoint,
  writeCheckpointFile,
} from '../checkpoint/checkpointFile.js'
import { CheckpointKey } from '../checkpoint/checkpointKey.js'
import { CliError, EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, toCliError, usageError } from '../cliError.js'
import { parseCommandArgs } from '../commandArgs.js'
import { CAPSULE_FLAG_OPTIONS, type CapsuleFlags, readCapsuleFlags } from '../config/capsuleFlags.js'
import { commandHelp } from '../help.js'
import { DisplayWriter } from '../output/displayWriter.js'
import { escapeUntrusted } from '../output/escapeUntrusted.js'
import { formatPythonError } from '../output/formatPythonError.js'
import { Spinner } from '../output/spinner.js'
import type { Terminal } from '../output/terminal.js'
import { LineReader } from '../session/lineReader.js'
import { type StartedSession, startSession } from '../session/startSession.js'

const EXEC_OPTIONS = {
  ...CAPSULE_FLAG_OPTIONS,
  code: { type: 'string', short: 'c' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  'checkpoint-to': { type: 'string' },
} as const

/** What `capsule exec`/`capsule run` print with `--json`: one object, nothing else on stdout. */
export interface JsonExecutionReport {
  /** `ok`, `error`, `interrupted`, `timeout`, or `failed` when the host failed (see `failure`). */
  status: ExecutionResult['status'] | 'failed'
  exitCode: number
  /** The last expression's mime bundle, or null. */
  value: ExecutionResult['value']
  stdout: string
  stderr: string
  displays: ExecutionResult['displays']
  /** The Python exception, as `{ ename, evalue, traceback }`. */
  error: ExecutionResult['error']
  /** A host-side failure (`SANDBOX_UNAVAILABLE`, `WORKER_EXITED`, …). */
  failure: { code: string; message: string } | null
  audit: unknown[]
  /** With `--checkpoint-to`: the file written and the names it holds, or null when none was written. */
  checkpoint?: { file: string; bytes: number; names: SessionCheckpoint['header']['names'] } | null
  durationMs: number
  level: string | null
  sandbox: string | null
}

/** `capsule exec -c CODE`: runs one piece of Python and exits with its outcome. */
export async function execCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { values } = parseCommandArgs(args, EXEC_OPTIONS)
  if (values.help) {
    terminal.stdout.write(commandHelp('exec'))
    return EXIT_OK
  }
  if (values.code === undefined) throw usageError('-c CODE is required (or use `capsule run FILE`)')
  return executeOnce(values.code, [], readCapsuleFlags(values), terminal, {
    json: values.json === true,
    verbose: values.verbose === true,
    checkpointTo: values['checkpoint-to'],
  })
}

/** `capsule run FILE [ARGS...]`: runs a Python file (`-` reads stdin) with `sys.argv` set to FILE ARGS. */
export async function runCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { values, positionals, rest } = parseCommandArgs(args, EXEC_OPTIONS, {
    positionals: 1,
    stopAtPositional: true,
  })
  if (values.help) {
    terminal.stdout.write(commandHelp('run'))
    return EXIT_OK
  }
  if (values.code !== undefined) throw usageError('-c is an option of `capsule exec`')
  const file = positionals[0]
  if (file === undefined) throw usageError('a FILE to run is required (`-` reads the code from stdin)')
  let code: string
  try {
    code = file === '-' ? readFileSync(0, 'utf8') : readFileSync(path.resolve(file), 'utf8')
  } catch (error) {
    throw usageError(`cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? error})`)
  }
  return executeOnce(code, [file, ...rest], readCapsuleFlags(values), terminal, {
    json: values.json === true,
    verbose: values.verbose === true,
    checkpointTo: values['checkpoint-to'],
  })
}

async function executeOnce(
  code: string,
  argv: string[],
  flags: CapsuleFlags,
  terminal: Terminal,
  mode: { json: boolean; verbose: boolean; checkpointTo: string | undefined },
): Promise<number> {
  let started: StartedSession
  try {
    const checkpointing = mode.checkpointTo === undefined ? undefined : { key: CheckpointKey.resolve() }
    started = await startSession(flags, terminal, mode.json, checkpointing)
  } catch (error) {
    const failure = toCliError(error)
    if (mode.json) writeJson(terminal, failedReport(failure, []))
    throw failure
  }
  const { capsule, session } = started
  if (!mode.json) {
    for (const note of started.notes) terminal.stderr.write(`capsule: note: ${escapeUntrusted(note)}\n`)
  }
  if (mode.verbose) {
    const info = capsule.info()
    // The interpreter's version and path, and capability ids, come from outside the CLI.
    const status =
      `level ${capsule.level}, sandbox ${capsule.sandboxInForce()}, python ${info.python?.version ?? '?'} ` +
      `(${info.python?.executable ?? '?'}), config ${started.resolved.configFile ?? 'none'}, ` +
      `capabilities ${session.info().capabilities.join(' ')}`
    terminal.stderr.write(`capsule: ${escapeUntrusted(status)}\n`)
  }

  let interrupts = 0
  const onInterrupt = () => {
    interrupts += 1
    if (interrupts === 1) {
      session.interrupt().catch(() => {})
      return
    }
    // A second Ctrl-C does not wait for the cell: end everything now.
    capsule.destroy()
    process.exit(EXIT_INTERRUPTED)
  }
  process.on('SIGINT', onInterrupt)
  const reader = new LineReader(terminal, mode.json ? terminal.stderr : terminal.stdout, onInterrupt)
  try {
    if (argv.length > 0) await setArgv(session, argv)
    const outcome = await runCell(started, code, terminal, reader, mode.json, flags.outputDir)
    let checkpointFailure: CliError | undefined
    if (mode.checkpointTo !== undefined) {
      outcome.report.checkpoint = null
      if (outcome.report.status === 'ok' || outcome.report.status === 'error') {
        try {
          const checkpoint = await session.checkpoint()
          started.checkpointKey?.persist()
          writeCheckpointFile(mode.checkpointTo, checkpoint.bytes)
          const { names } = checkpoint.header
          outcome.report.checkpoint = { file: mode.checkpointTo, bytes: checkpoint.bytes.byteLength, names }
          if (!mode.json) {
            terminal.stderr.write(`capsule: ${describeCheckpoint(mode.checkpointTo, checkpoint)}\n`)
          }
        } catch (error) {
          checkpointFailure = toCliError(error)
        }
      } else if (!mode.json) {
        terminal.stderr.write(`capsule: no checkpoint written: the run ended ${outcome.report.status}\n`)
      }
    }
    if (mode.json) writeJson(terminal, outcome.report)
    if (outcome.failure) throw outcome.failure
    if (checkpointFailure) throw checkpointFailure
    return outcome.report.exitCode
  } finally {
    process.off('SIGINT', onInterrupt)
    reader.close()
    await started.close()
  }
}

// Sets sys.argv for a script in a cell of its own, so the script's namespace gains no helper names.
async function setArgv(session: Session, argv: string[]): Promise<void> {
  const result = await session.run(`__import__('sys').argv = ${JSON.stringify(argv)}`)
  if (result.status !== 'ok') throw new CliError('INTERNAL', 'could not set sys.argv', EXIT_FAILURE)
}

async function runCell(
  started: StartedSession,
  code: string,
  terminal: Terminal,
  reader: LineReader,
  json: boolean,
  outputDir: string | undefined,
): Promise<{ report: JsonExecutionReport; failure: CliError | undefined }> {
  const { capsule, session, recorder } = started
  const displays = new DisplayWriter(outputDir)
  const spinner = new Spinner(terminal.stderr, terminal.interactive && !json)
  let endsWithNewline = true
  const writeOut = (text: string) => {
    if (json || text === '') return
    spinner.stop()
    terminal.stdout.write(text)
    endsWithNewline = text.endsWith('\n')
    spinner.start('running')
  }
  const execution = session.execute(code)
  spinner.start('running')
  let result: ExecutionResult | undefined
  try {
    for await (const event of execution) {
      if (event.type === 'stdout') writeOut(event.text)
      else if (event.type === 'stderr') {
        if (json) continue
        spinner.stop()
        terminal.stderr.write(event.text)
        spinner.start('running')
      } else if (event.type === 'display') {
        if (!json) writeOut(`${displays.render(event.data)}\n`)
      } else if (event.type === 'input') {
        spinner.stop()
        const answer = await reader.ask(event.prompt, event.password)
        if (answer === undefined) {
          try {
            capsule.promises.reject(event.promiseId, 'stdin is closed: no answer to input()', 'UNAVAILABLE')
          } catch {
            // Already settled (interrupted): nothing to answer.
          }
        } else event.reply(answer)
        endsWithNewline = true
        spinner.start('running')
      } else if (event.type === 'result' || event.type === 'error') result = event.result
    }
  } catch (error) {
    spinner.stop()
    const failure = toCliError(error)
    return { report: failedReport(failure, recorder.entries, capsule), failure }
  }
  spinner.stop()
  const finished = result!
  const exitCode =
    finished.status === 'ok' ? EXIT_OK : finished.status === 'interrupted' ? EXIT_INTERRUPTED : EXIT_FAILURE
  if (!json) {
    if (finished.value) {
      if (!endsWithNewline) terminal.stdout.write('\n')
      terminal.stdout.write(`${displays.render(finished.value)}\n`)
    }
    if (finished.error) {
      if (!endsWithNewline) terminal.stdout.write('\n')
      terminal.stderr.write(formatPythonError(finished.error))
    }
    if (finished.status === 'timeout') {
      terminal.stderr.write(
        `capsule: the code ran past its time limit (${Math.round(finished.durationMs / 1000)} s) and was stopped\n`,
      )
    }
  }
  return {
    report: {
      status: finished.status,
      exitCode,
      value: finished.value,
      stdout: finished.stdout,
      stderr: finished.stderr,
      displays: finished.displays,
      error: finished.error,
      failure: null,
      audit: recorder.entries,
      durationMs: Math.round(finished.durationMs * 10) / 10,
      level: capsule.level,
      sandbox: session.info().sandbox,
    },
    failure: undefined,
  }
}

function failedReport(
  failure: CliError,
  audit: unknown[],
  capsule?: StartedSession['capsule'],
): JsonExecutionReport {
  return {
    status: 'failed',
    exitCode: failure.exitCode,
    value: null,
    stdout: '',
    stderr: '',
    displays: [],
    error: null,
    failure: { code: failure.code, message: failure.message },
    audit,
    durationMs: 0,
    level: capsule?.level ?? null,
    sandbox: capsule ? capsule.sandboxInForce() : null,
  }
}

function writeJson(terminal: Terminal, report: JsonExecutionReport): void {
  terminal.stdout.write(`${JSON.stringify(report)}\n`)
}

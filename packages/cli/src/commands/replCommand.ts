import { createInterface, type Interface } from 'node:readline'
import type { InputEvent } from '@capsule/core'
import { describeRestore } from '../checkpoint/checkpointFile.js'
import { CheckpointKey } from '../checkpoint/checkpointKey.js'
import { explainRefusedCheckpoint } from '../checkpoint/refusedCheckpoint.js'
import { type RestoreSource, readRestoreSource } from '../checkpoint/restoreSource.js'
import { EXIT_OK, toCliError } from '../cliError.js'
import { parseCommandArgs } from '../commandArgs.js'
import { CAPSULE_FLAG_OPTIONS, readCapsuleFlags } from '../config/capsuleFlags.js'
import { commandHelp } from '../help.js'
import { type OpenedJournal, openJournalFlag } from '../journal/journalFlag.js'
import { DisplayWriter } from '../output/displayWriter.js'
import { escapeUntrusted } from '../output/escapeUntrusted.js'
import { formatPythonError } from '../output/formatPythonError.js'
import { MutableOutput } from '../output/mutableOutput.js'
import { Spinner } from '../output/spinner.js'
import { type Styles, styles, type Terminal } from '../output/terminal.js'
import { historyFilePath, loadHistory, saveHistory } from '../repl/historyFile.js'
import { CompletenessChecker } from '../repl/inputCompleteness.js'
import {
  auditMagic,
  capabilitiesMagic,
  checkpointMagic,
  helpMagic,
  infoMagic,
  levelMagic,
  type MagicContext,
} from '../repl/replMagics.js'
import { type StartedSession, startSession } from '../session/startSession.js'
import { CLI_VERSION } from '../version.js'

const REPL_OPTIONS = {
  ...CAPSULE_FLAG_OPTIONS,
  'no-history': { type: 'boolean' },
  restore: { type: 'string' },
  journal: { type: 'string' },
} as const

const PROMPT = '>>> '
const CONTINUATION = '... '

/** `capsule repl`: an interactive Python prompt over one session. Resolves with the exit code when it ends. */
export async function replCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { values } = parseCommandArgs(args, REPL_OPTIONS)
  if (values.help) {
    terminal.stdout.write(commandHelp('repl'))
    return EXIT_OK
  }
  const flags = readCapsuleFlags(values)
  const key = CheckpointKey.resolve()
  const journal = values.journal === undefined ? undefined : await openJournalFlag(values.journal)
  let started: StartedSession
  let restore: RestoreSource | undefined
  try {
    restore = values.restore === undefined ? undefined : await readRestoreSource(values.restore, journal)
    started = await startSession(flags, terminal, false, {
      key,
      ...(restore ? { restore: restore.bytes } : {}),
    })
  } catch (error) {
    await journal?.close().catch(() => undefined)
    throw explainRefusedCheckpoint(error, key)
  }
  const report = started.session.lastRestore
  // On stderr, so a piped REPL's stdout holds only what the cells print.
  if (restore && report) terminal.stderr.write(`${describeRestore(restore.label, report)}\n`)
  const repl = new Repl(started, terminal, {
    historyFile: values['no-history'] ? undefined : historyFilePath(),
    outputDir: flags.outputDir,
    journal,
  })
  try {
    return await repl.run()
  } finally {
    await journal?.close().catch(() => undefined)
  }
}

/**
 * The REPL loop. Lines go to a pending `input()` when there is one, else into a queue that is handled in
 * order (so pasted lines and typeahead run one cell after another). Ctrl-C interrupts the running cell or
 * clears the prompt; Ctrl-D (or the end of a piped stdin) exits once queued cells have run.
 */
class Repl {
  readonly #started: StartedSession
  readonly #terminal: Terminal
  readonly #style: Styles
  readonly #historyFile: string | undefined
  readonly #displays: DisplayWriter
  readonly #spinner: Spinner
  readonly #checker: CompletenessChecker
  readonly #output: MutableOutput
  readonly #rl: Interface
  readonly #tty: boolean
  readonly #journal: OpenedJournal | undefined
  #buffer: string[] = []
  readonly #queue: string[] = []
  #processing = false
  #running = false
  #closed = false
  #finished = false
  #pendingInput: InputEvent | undefined
  #endsWithNewline = true
  #done!: (code: number) => void

  constructor(
    started: StartedSession,
    terminal: Terminal,
    options: { historyFile: string | undefined; outputDir: string | undefined; journal?: OpenedJournal },
  ) {
    this.#started = started
    this.#journal = options.journal
    this.#terminal = terminal
    this.#style = styles(terminal.color)
    this.#tty = Boolean(terminal.stdin.isTTY && terminal.stdout.isTTY)
    this.#historyFile = this.#tty ? options.historyFile : undefined
    this.#displays = new DisplayWriter(options.outputDir)
    this.#spinner = new Spinner(terminal.stderr, terminal.interactive)
    this.#checker = new CompletenessChecker(started.capsule.info().python?.executable)
    this.#output = new MutableOutput(terminal.stdout)
    this.#rl = createInterface({
      input: terminal.stdin,
      output: this.#output,
      terminal: this.#tty,
      history: loadHistory(this.#historyFile),
      historySize: 1000,
      removeHistoryDuplicates: true,
      prompt: PROMPT,
    })
  }

  run(): Promise<number> {
    const done = new Promise<number>((resolve) => {
      this.#done = resolve
    })
    this.#banner()
    this.#rl.on('line', (line) => this.#onLine(line))
    this.#rl.on('SIGINT', () => this.#onCtrlC())
    this.#rl.on('close', () => this.#onClose())
    // After Ctrl-D (readline closed, terminal back in cooked mode) or with a piped stdin, Ctrl-C is a signal.
    process.on('SIGINT', this.#onSignal)
    this.#prompt()
    return done
  }

  #banner(): void {
    const { capsule, session, notes } = this.#started
    const python = capsule.info().python
    const sandbox = capsule.sandboxInForce()
    const warning = sandbox === 'none' ? this.#style.yellow(' (no OS isolation)') : ''
    const version = escapeUntrusted(python?.version ?? '?')
    const lines = [
      `Capsule ${CLI_VERSION} · Python ${version} · level ${session.info().level} · sandbox ${sandbox}${warning}`,
      ...notes.map((note) => this.#style.yellow(`note: ${escapeUntrusted(note)}`)),
      this.#style.dim('Type %help for commands, %capabilities for what the code may call; Ctrl-D exits.'),
    ]
    if (this.#tty) this.#terminal.stdout.write(`${lines.join('\n')}\n`)
  }

  #prompt(): void {
    if (this.#closed || this.#processing) return
    this.#rl.setPrompt(this.#buffer.length > 0 ? CONTINUATION : PROMPT)
    if (this.#tty) this.#rl.prompt()
  }

  #onLine(line: string): void {
    const pending = this.#pendingInput
    if (pending) {
      this.#pendingInput = undefined
      this.#forget(line)
      if (this.#output.muted) {
        this.#output.muted = false
        this.#terminal.stdout.write('\n')
      }
      this.#rl.setPrompt(PROMPT)
      pending.reply(line)
      this.#spinner.start('running')
      return
    }
    this.#queue.push(line)
    void this.#drain()
  }

  async #drain(): Promise<void> {
    if (this.#processing) return
    this.#processing = true
    try {
      while (this.#queue.length > 0) await this.#handleLine(this.#queue.shift()!)
    } catch (error) {
      this.#terminal.stderr.write(`capsule: ${escapeUntrusted(toCliError(error).message)}\n`)
    }
    this.#processing = false
    if (this.#closed) await this.#finish()
    else this.#prompt()
  }

  async #handleLine(line: string): Promise<void> {
    if (this.#buffer.length === 0) {
      const trimmed = line.trim()
      if (trimmed === '') return
      if (trimmed.startsWith('%')) {
        await this.#magic(trimmed)
        return
      }
    }
    this.#buffer.push(line)
    const source = this.#buffer.join('\n')
    if ((await this.#checker.check(source)) === 'incomplete') return
    this.#buffer = []
    await this.#runCell(source)
  }

  async #runCell(source: string): Promise<void> {
    const { session } = this.#started
    const out = this.#terminal.stdout
    this.#running = true
    this.#endsWithNewline = true
    const write = (stream: NodeJS.WriteStream, text: string) => {
      if (text === '') return
      this.#spinner.stop()
      stream.write(text)
      this.#endsWithNewline = text.endsWith('\n')
      if (!this.#pendingInput) this.#spinner.start('running')
    }
    this.#spinner.start('running')
    try {
      for await (const event of session.execute(source)) {
        if (event.type === 'stdout') write(out, event.text)
        else if (event.type === 'stderr') write(this.#terminal.stderr, event.text)
        else if (event.type === 'display') write(out, `${this.#displays.render(event.data)}\n`)
        else if (event.type === 'input') {
          this.#spinner.stop()
          this.#pendingInput = event
          // Lines typed (or piped) ahead answer input() first, as they would in Python's REPL.
          const typedAhead = this.#queue.shift()
          if (typedAhead !== undefined) {
            out.write(event.password ? `${event.prompt}\n` : `${event.prompt}${typedAhead}\n`)
            this.#pendingInput = undefined
            this.#forget(typedAhead)
            event.reply(typedAhead)
            continue
          }
          if (this.#closed) {
            this.#answerEof()
            continue
          }
          if (event.password) {
            out.write(event.prompt)
            this.#output.muted = true
          } else {
            this.#rl.setPrompt(event.prompt)
            this.#rl.prompt(true)
          }
        } else if (event.type === 'result' || event.type === 'error') {
          this.#spinner.stop()
          const result = event.result
          if (!this.#endsWithNewline && (result.value || result.error)) out.write('\n')
          if (result.value) out.write(`${this.#displays.render(result.value)}\n`)
          if (result.error) this.#terminal.stderr.write(formatPythonError(result.error))
          if (result.stateLost) {
            this.#terminal.stderr.write(
              this.#style.yellow('the worker was restarted: the namespace is empty\n'),
            )
          }
          if (result.status === 'timeout') {
            this.#terminal.stderr.write(
              this.#style.yellow('the cell ran past its time limit and was stopped\n'),
            )
          }
          this.#endsWithNewline = true
        }
      }
    } catch (error) {
      this.#spinner.stop()
      const failure = toCliError(error)
      this.#terminal.stderr.write(
        `${this.#style.red(escapeUntrusted(`${failure.code}: ${failure.message}`))}\n` +
          this.#style.yellow('a new worker starts with the next cell; the namespace is lost\n'),
      )
    } finally {
      this.#spinner.stop()
      this.#running = false
      this.#clearPendingInput()
      if (!this.#endsWithNewline) out.write('\n')
      saveHistory(this.#historyFile, this.#history())
    }
  }

  async #magic(line: string): Promise<void> {
    const [name, argument] = line.slice(1).split(/\s+/)
    const context: MagicContext = { started: this.#started, style: this.#style, journal: this.#journal }
    let text: string
    switch (name) {
      case 'capabilities':
        text = capabilitiesMagic(context)
        break
      case 'audit':
        text = auditMagic(context, argument)
        break
      case 'level':
        text = levelMagic(context)
        break
      case 'info':
        text = infoMagic(context)
        break
      case 'help':
        text = helpMagic(context)
        break
      case 'checkpoint':
        text = await checkpointMagic(context, argument)
        break
      case 'restart':
        await this.#started.session.restart()
        text = 'restarted: the namespace is empty'
        break
      default:
        text = this.#style.red(`unknown command %${escapeUntrusted(name ?? '')}; %help lists them`)
    }
    this.#terminal.stdout.write(`${text}\n`)
  }

  #onCtrlC(): void {
    if (this.#running) {
      if (this.#output.muted) {
        this.#output.muted = false
        this.#terminal.stdout.write('\n')
      }
      this.#started.session.interrupt().catch(() => {})
      return
    }
    // At the prompt: drop the line and any unfinished cell, like Python's REPL.
    this.#rl.write(null, { ctrl: true, name: 'e' })
    this.#rl.write(null, { ctrl: true, name: 'u' })
    this.#buffer = []
    this.#queue.length = 0
    this.#terminal.stdout.write(`\n${this.#style.dim('KeyboardInterrupt')}\n`)
    this.#prompt()
  }

  readonly #onSignal = (): void => {
    if (this.#running) this.#started.session.interrupt().catch(() => {})
    else if (this.#closed) void this.#finish()
  }

  #onClose(): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#tty) this.#terminal.stdout.write('\n')
    // Ctrl-D at an input() prompt: there will be no answer.
    if (this.#pendingInput) this.#answerEof()
    if (!this.#processing) void this.#finish()
  }

  #answerEof(): void {
    const pending = this.#pendingInput
    this.#pendingInput = undefined
    if (!pending) return
    try {
      this.#started.capsule.promises.reject(
        pending.promiseId,
        'stdin is closed: no answer to input()',
        'UNAVAILABLE',
      )
    } catch {
      // Already settled.
    }
  }

  #clearPendingInput(): void {
    if (this.#output.muted) this.#output.muted = false
    this.#pendingInput = undefined
    this.#rl.setPrompt(PROMPT)
  }

  // Answers to input() are not code, and a password must never reach the history file.
  #forget(line: string): void {
    const history = this.#history()
    const index = history.indexOf(line)
    if (index !== -1) history.splice(index, 1)
  }

  #history(): string[] {
    return (this.#rl as unknown as { history?: string[] }).history ?? []
  }

  async #finish(): Promise<void> {
    if (this.#finished) return
    this.#finished = true
    process.off('SIGINT', this.#onSignal)
    this.#spinner.stop()
    saveHistory(this.#historyFile, this.#history())
    this.#checker.close()
    this.#output.destroy()
    await this.#started.close()
    this.#done(EXIT_OK)
  }
}

/** Where the CLI writes, and whether each stream is an interactive terminal. Tests and commands share it. */
export interface Terminal {
  stdout: NodeJS.WriteStream
  stderr: NodeJS.WriteStream
  stdin: NodeJS.ReadStream
  /** stderr is a terminal: spinners and status lines are allowed. */
  readonly interactive: boolean
  /** Colours are allowed on stdout (a terminal and no NO_COLOR). */
  readonly color: boolean
}

/** The process's terminal. */
export function processTerminal(): Terminal {
  const dumb = process.env.TERM === 'dumb'
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    interactive: Boolean(process.stderr.isTTY) && !dumb,
    color: Boolean(process.stdout.isTTY) && !dumb && !process.env.NO_COLOR,
  }
}

/** ANSI styles that collapse to plain text when colour is off. */
export function styles(enabled: boolean) {
  const wrap = (open: number, close: number) => (text: string) =>
    enabled ? `\x1b[${open}m${text}\x1b[${close}m` : text
  return {
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
  }
}

/** The styles returned by {@link styles}. */
export type Styles = ReturnType<typeof styles>

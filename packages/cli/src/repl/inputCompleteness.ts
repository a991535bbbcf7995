import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

/** Whether the lines typed so far form a cell: run it, ask for more (`... `), or run it to show the SyntaxError. */
export type Completeness = 'complete' | 'incomplete' | 'invalid'

// Python's own REPL rule (codeop, as the asyncio REPL configures it for top-level await). It only compiles
// the text the user typed at their own terminal; nothing is executed.
const CHECKER_SOURCE = `
import ast, codeop, json, sys, warnings
compiler = codeop.CommandCompiler()
compiler.compiler.flags |= ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
for line in sys.stdin:
    source = json.loads(line)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            answer = "incomplete" if compiler(source, "<input>", "single") is None else "complete"
    except (SyntaxError, OverflowError, ValueError):
        answer = "invalid"
    sys.stdout.write(answer + "\\n")
    sys.stdout.flush()
`

/**
 * Decides when a multi-line cell is complete. It asks a small host-side Python process running `codeop`,
 * the module behind Python's own REPL, so the rules are exactly Python's: a compound statement ends with a
 * blank line, open brackets and triple quotes continue, `await` is allowed at the top level. When that
 * process cannot run, {@link heuristicCompleteness} decides instead.
 */
export class CompletenessChecker {
  #child: ChildProcessWithoutNullStreams | undefined
  readonly #waiting: Array<{ source: string; resolve: (answer: Completeness) => void }> = []

  /** Starts the checker with `python` (the session's interpreter). */
  constructor(python: string | undefined) {
    if (!python) return
    try {
      const child = spawn(python, ['-I', '-S', '-c', CHECKER_SOURCE], { stdio: 'pipe' })
      this.#child = child
      const lines = createInterface({ input: child.stdout })
      lines.on('line', (answer) => {
        const next = this.#waiting.shift()
        next?.resolve(answer === 'incomplete' || answer === 'invalid' ? answer : 'complete')
      })
      const fail = () => this.#fallBack()
      child.on('error', fail)
      child.on('exit', fail)
      child.stdin.on('error', fail)
      child.unref()
      ;(child.stdout as unknown as { unref?: () => void }).unref?.()
    } catch {
      this.#child = undefined
    }
  }

  /** Whether `source` (the lines typed so far, joined by newlines) is a complete cell. */
  check(source: string): Promise<Completeness> {
    const child = this.#child
    if (!child) return Promise.resolve(heuristicCompleteness(source))
    return new Promise((resolve) => {
      this.#waiting.push({ source, resolve })
      child.stdin.write(`${JSON.stringify(source)}\n`)
    })
  }

  /** Stops the checker process. Idempotent. */
  close(): void {
    const child = this.#child
    this.#child = undefined
    child?.stdin.end()
    child?.kill()
    this.#fallBack()
  }

  #fallBack(): void {
    this.#child = undefined
    for (const waiting of this.#waiting.splice(0)) waiting.resolve(heuristicCompleteness(waiting.source))
  }
}

/**
 * The fallback rule: more input is needed while a bracket or a triple-quoted string is open, after a
 * trailing backslash, after a line ending in `:`, and — once a block was opened — until a blank line.
 */
export function heuristicCompleteness(source: string): Completeness {
  let depth = 0
  let quote: string | undefined
  let opensBlock = false
  let continued = false
  const lines = source.split('\n')
  for (const line of lines) {
    let code = ''
    for (let index = 0; index < line.length; index += 1) {
      const char = line[index]!
      if (quote) {
        if (char === '\\') index += 1
        else if (line.startsWith(quote, index)) {
          index += quote.length - 1
          quote = undefined
        }
        continue
      }
      if (char === '#') break
      if (char === '"' || char === "'") {
        quote = line.startsWith(char.repeat(3), index) ? char.repeat(3) : char
        index += quote.length - 1
        code += 'S'
        continue
      }
      if ('([{'.includes(char)) depth += 1
      else if (')]}'.includes(char)) depth = Math.max(0, depth - 1)
      code += char
    }
    // A one-quote string cannot span lines: an unclosed one is a syntax error for Python to report.
    if (quote && quote.length === 1) return 'invalid'
    const trimmed = code.trimEnd()
    continued = trimmed.endsWith('\\')
    if (depth === 0 && !quote && trimmed.endsWith(':')) opensBlock = true
  }
  if (quote || depth > 0 || continued) return 'incomplete'
  if (opensBlock) return lines.at(-1)?.trim() === '' && lines.length > 1 ? 'complete' : 'incomplete'
  return 'complete'
}

// Every ```ts example of README.md, docs/*.md and the package READMEs runs as pasted: each is written to
// a file of this package (so its imports resolve to the workspace's @capsule packages, from source), type
// checked, and run with tsx in a fresh empty directory, two at a time. A snippet fails the test when it
// does not type-check, throws, exits non-zero or runs past its deadline. Blocks fenced ```ts nocheck are
// fragments or signatures: counted, not run.
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { probeSandbox } from '@capsule/core'
import { afterAll, describe, expect, test } from 'vitest'
import { collectSnippets, type DocSnippet } from '../src/docSnippets.js'

const PACKAGE = resolve(import.meta.dirname, '..')
const REPO = resolve(PACKAGE, '../..')
const SNIPPET_DIR = join(PACKAGE, 'snippets')
// tsx's loader in this node process (the tsx command would start a second one for each snippet).
const TSX_LOADER = pathToFileURL(join(REPO, 'node_modules/tsx/dist/loader.mjs')).href
const TSC = join(REPO, 'node_modules/typescript/bin/tsc')
const SNIPPET_TIMEOUT_MS = 45_000
const CONCURRENCY = 2
// The interpreter CI gives msgpack and the scientific stack; a snippet that names no `python` uses it.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : undefined

interface ProcessRun {
  exitCode: number | null
  signal: NodeJS.Signals | null
  timedOut: boolean
  output: string
  ms: number
}

// Most examples start a sandboxed session (the default below `unrestricted`): without bubblewrap they are
// skipped, with the reason in the test name.
const sandbox = await probeSandbox()
const noSandbox = sandbox.available ? undefined : `skipped: the sandbox cannot start here (${sandbox.reason})`

/** Whether running the snippet starts a worker in the default sandbox. */
function needsSandbox(snippet: DocSnippet): boolean {
  return /new Capsule\(|main\(\[/.test(snippet.code) && !/sandbox: 'none'/.test(snippet.code)
}

const snippets = collectSnippets(REPO)
const runnable = snippets.filter((snippet) => snippet.runnable)
const fragments = snippets.filter((snippet) => !snippet.runnable)

/** `docs/host-guide.md` line 39 → `docs_host-guide_md_L39`. */
function snippetName(snippet: DocSnippet): string {
  return `${snippet.file.replace(/[/.]/g, '_')}_L${snippet.line}`
}

// Written now, all at once, so the type check sees every snippet.
rmSync(SNIPPET_DIR, { recursive: true, force: true })
mkdirSync(SNIPPET_DIR, { recursive: true })
for (const snippet of runnable) writeFileSync(join(SNIPPET_DIR, `${snippetName(snippet)}.ts`), snippet.code)
const scratch = mkdtempSync(join(tmpdir(), 'capsule-doc-snippets-'))
// A project directory others may enter, as most are: on a root host, sandboxed workers and shell
// commands run as an unprivileged uid that must reach the snippet's files.
chmodSync(scratch, 0o755)

/** A queue that runs at most `limit` jobs at once. */
function limiter(limit: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0
  const waiting: (() => void)[] = []
  return async (job) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve))
    active += 1
    try {
      return await job()
    } finally {
      active -= 1
      waiting.shift()?.()
    }
  }
}
const limit = limiter(CONCURRENCY)

/** Runs a command to its end, killing its whole process group past the deadline. */
function runProcess(command: string, args: string[], cwd: string): Promise<ProcessRun> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...(PYTHON ? { CAPSULE_PYTHON: PYTHON } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    let output = ''
    child.stdout.on('data', (chunk) => {
      output += chunk
    })
    child.stderr.on('data', (chunk) => {
      output += chunk
    })
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      // The whole group: node and any Python worker (or bwrap) the snippet started.
      process.kill(-child.pid!, 'SIGKILL')
    }, SNIPPET_TIMEOUT_MS)
    child.on('error', reject)
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer)
      resolve({ exitCode, signal, timedOut, output, ms: performance.now() - started })
    })
  })
}

function describeRun(run: ProcessRun): string {
  return run.timedOut
    ? `ran past ${SNIPPET_TIMEOUT_MS} ms`
    : `exited with ${run.signal ?? run.exitCode} after ${Math.round(run.ms)} ms`
}

/** The type errors tsc reports in the snippets (errors inside the packages are the root type check's). */
function snippetDiagnostics(output: string): string[] {
  const diagnostics: string[] = []
  for (const line of output.split('\n')) {
    if (line.startsWith('snippets/')) diagnostics.push(line)
    else if (/^\s/.test(line) && diagnostics.length > 0) diagnostics[diagnostics.length - 1] += `\n${line}`
  }
  return diagnostics
}

afterAll(() => {
  rmSync(SNIPPET_DIR, { recursive: true, force: true })
  rmSync(scratch, { recursive: true, force: true })
})

const deadline = SNIPPET_TIMEOUT_MS * Math.ceil((runnable.length + 1) / CONCURRENCY) + 10_000

describe('the examples in the docs', () => {
  test(`there are examples to run (${runnable.length} runnable, ${fragments.length} fenced as nocheck)`, () => {
    expect(runnable.length).toBeGreaterThan(0)
    expect(new Set(runnable.map(snippetName)).size).toBe(runnable.length)
  })

  test.concurrent(
    'type-check',
    async () => {
      const run = await limit(() =>
        runProcess(process.execPath, [TSC, '-p', 'tsconfig.snippets.json', '--pretty', 'false'], PACKAGE),
      )
      expect(run.timedOut, describeRun(run)).toBe(false)
      expect(snippetDiagnostics(run.output)).toEqual([])
    },
    deadline,
  )

  for (const snippet of runnable) {
    if (noSandbox && needsSandbox(snippet)) {
      test.skip(`${snippet.file}:${snippet.line} runs as pasted — ${noSandbox}`, () => {})
      continue
    }
    test.concurrent(
      `${snippet.file}:${snippet.line} runs as pasted`,
      async () => {
        const cwd = join(scratch, snippetName(snippet))
        mkdirSync(cwd)
        const file = join(SNIPPET_DIR, `${snippetName(snippet)}.ts`)
        const run = await limit(() =>
          runProcess(process.execPath, ['--import', TSX_LOADER, '--conditions=@capsule/source', file], cwd),
        )
        expect(run.exitCode, `${snippet.file}:${snippet.line} ${describeRun(run)}:\n${run.output}`).toBe(0)
      },
      deadline,
    )
  }
})

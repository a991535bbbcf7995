// The Capsule demo: runs a few Python cells in a worker and prints what each one did.
// `pnpm demo` (or the README's first command) runs it.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  Capsule,
  type CapsuleOptions,
  type ExecutionResult,
  isCapsuleError,
  type Session,
} from '@capsule/core'
import { kvProvider } from '@capsule/example-kv-provider'
import { fsProvider } from '@capsule/providers-fs'
import { durableSection } from './durable.js'

const CELLS: Array<[title: string, code: string]> = [
  ['a value', 'x = 40\nx + 2'],
  ['printed output', 'for i in range(3):\n    print("line", i)'],
  ['an error with its traceback', 'def ratio(a, b):\n    return a / b\n\nratio(1, 0)'],
  ['top-level await', 'import asyncio\nawait asyncio.sleep(0.01)\nf"awaited, x is still {x}"'],
  [
    'a rich display',
    'class Badge:\n    def _repr_html_(self):\n        return "<b>capsule</b>"\n    def __repr__(self):\n        return "Badge()"\n\ndisplay(Badge())',
  ],
  [
    'files through the fs capability',
    'write_file("notes.txt", "hello from Python")\nprint(read_file("notes.txt"))\n[e["name"] for e in list_dir()["entries"]]',
  ],
  [
    'a third-party capability, sync and async',
    'kv_set("greeting", "hi")\nawait asyncio.gather(kv_get("greeting"), kv_get("missing"))',
  ],
  [
    'a data cell: numpy, pandas and a plot (when the interpreter has them)',
    [
      'import sys',
      'try:',
      '    import numpy as np, pandas as pd, matplotlib.pyplot as plt',
      'except ImportError as missing:',
      '    np = None',
      '    print(f"skipped: {missing.name} is not installed for {sys.executable}; install numpy, pandas and"',
      '          " matplotlib for it (Debian: apt-get install python3-numpy python3-pandas python3-matplotlib,"',
      '          " then python: \'/usr/bin/python3\')")',
      'if np is not None:',
      '    df = pd.DataFrame({"x": np.arange(10)})',
      '    df["y"] = df.x ** 2',
      '    df.plot(x="x", y="y", title="y = x squared")',
      'df.describe().loc[["mean", "max"]] if np is not None else "no data stack here"',
    ].join('\n'),
  ],
  ['input() answered by the host', 'name = input("Your name? ")\nf"Hello, {name}!"'],
  [
    'an escape attempt, refused',
    'from capsule import CapabilityDenied\ntry:\n    read_file("../../etc/passwd")\nexcept CapabilityDenied as e:\n    print("denied:", e)',
  ],
]

async function main(): Promise<void> {
  const workspace = await mkdtemp(join(tmpdir(), 'capsule-demo-'))
  const options: CapsuleOptions = {
    level: 'standard',
    // CAPSULE_DEMO_PYTHON=/usr/bin/python3 picks an interpreter (e.g. one with Debian's numpy and pandas).
    ...(process.env.CAPSULE_DEMO_PYTHON ? { python: process.env.CAPSULE_DEMO_PYTHON } : {}),
    providers: [fsProvider({ roots: [{ path: workspace, write: true }] }), kvProvider({ store: new Map() })],
    onInput: ({ prompt }) => {
      console.log(`  [host] input requested: ${JSON.stringify(prompt)} → answering "Ada"`)
      return 'Ada'
    },
  }
  let capsule = new Capsule(options)
  let session: Session
  try {
    session = await capsule.session()
  } catch (error) {
    if (!isCapsuleError(error, 'SANDBOX_UNAVAILABLE')) throw error
    console.log(`The bubblewrap sandbox is not available here:\n  ${error.message}`)
    console.log(
      "This demo opts out explicitly with sandbox: 'none' (Python then has the host user's authority).\n",
    )
    await capsule.close()
    capsule = new Capsule({ ...options, sandbox: 'none' })
    session = await capsule.session()
  }
  const info = session.info()
  console.log(
    `Python ${info.python} (pid ${info.workerPid}), codec ${info.codec}, sandbox: ${info.sandbox}, level: ${info.level}, started in ${info.startupMs?.toFixed(1)} ms`,
  )
  console.log(`Capabilities: ${info.capabilities.join(', ')}\n`)
  try {
    for (const [title, code] of CELLS) {
      console.log(`── ${title} ${'─'.repeat(Math.max(0, 60 - title.length))}`)
      console.log(indent(code, '  >>> '))
      show(await session.run(code))
    }
    const title = 'a durable session: its host killed mid-cell, recovered by another'
    console.log(`── ${title} ${'─'.repeat(Math.max(0, 60 - title.length))}`)
    const { providers: _providers, onInput: _onInput, ...hostOptions } = options
    await durableSection({ ...hostOptions, sandbox: capsule.sandbox })
  } finally {
    await capsule.close()
    await rm(workspace, { recursive: true, force: true })
  }
}

function show(result: ExecutionResult): void {
  if (result.stdout) console.log(indent(result.stdout.trimEnd(), '  stdout | '))
  if (result.stderr) console.log(indent(result.stderr.trimEnd(), '  stderr | '))
  for (const display of result.displays)
    console.log(
      `  display | ${Object.keys(display.data).join(', ')}: ${String(display.data['text/html'] ?? display.data['text/plain'])}`,
    )
  if (result.value) console.log(`  value  = ${String(result.value['text/plain'])}`)
  if (result.error) console.log(indent(result.error.traceback.join('').trimEnd(), '  error  | '))
  console.log(`  (${result.status}, cell ${result.executionCount}, ${result.durationMs.toFixed(1)} ms)\n`)
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n')
}

main().catch((error) => {
  console.error(isCapsuleError(error) ? `${error.code}: ${error.message}` : error)
  process.exitCode = 1
})

// The demo's durable section: a host process runs a durable cell on a SQLite journal and is SIGKILLed
// mid-cell; this process then recovers the session from the journal and finishes the cell, and every side
// effect has happened exactly once. `durable.ts host DIR` is the host process itself.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Capsule, type CapsuleOptions } from '@capsule/core'
// The demo reaches the SQLite journal through its sources (it does not depend on the package).
import { sqliteJournal } from '@capsule/journal-sqlite'
import { fsProvider } from '@capsule/providers-fs'

// Each order appended to a real file: a side effect anyone can count after the crash.
const CELL = [
  'import time',
  'receipts = []',
  'for order in ["tea", "cake", "jam"]:',
  '    write_file("ledger.txt", order + "\\n", append=True)',
  '    receipts.append(len(read_file("ledger.txt").splitlines()))',
  '    time.sleep(0.5)',
  'receipts',
].join('\n')

function capsuleIn(dir: string, options: CapsuleOptions): Capsule {
  return new Capsule({
    ...options,
    providers: [fsProvider({ roots: [{ path: dir, write: true }] })],
    journal: sqliteJournal({ path: join(dir, 'journal.db'), pollIntervalMs: 10 }),
    hostId: 'demo-host',
  })
}

/** Runs the durable section, with the interpreter and sandbox the rest of the demo uses. */
export async function durableSection(options: CapsuleOptions): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'capsule-demo-durable-'))
  const journal = sqliteJournal({ path: join(dir, 'journal.db'), pollIntervalMs: 10 })
  try {
    console.log(indent(CELL, '  >>> '))
    const host = spawn(
      process.execPath,
      ['--conditions=@capsule/source', '--import', 'tsx', fileURLToPath(import.meta.url), 'host', dir],
      { env: { ...process.env, CAPSULE_DEMO_OPTIONS: JSON.stringify(options) }, stdio: 'inherit' },
    )
    const exited = new Promise((resolve) => host.on('exit', resolve))
    await journal.open()
    // Kill the host once two charges are recorded, while the cell sleeps before the third.
    for (;;) {
      const [execution] = await journal.listExecutions('shop-1')
      const calls = execution ? await journal.listCalls(execution.id) : []
      const charged = calls.filter((call) => call.capability === 'fs.write_file' && call.state === 'resolved')
      if (charged.length >= 2) break
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    host.kill('SIGKILL')
    await exited
    console.log(`  [host ${host.pid}] SIGKILLed mid-cell; ledger so far: ${ledgerLines(dir).join(', ')}`)
    const recovering = capsuleIn(dir, options)
    try {
      const report = await recovering.recover()
      const result = report.sessions[0]?.completed[0]
      console.log(
        `  [new host] recover(): value = ${String(result?.value?.['text/plain'])}, recovered: ${result?.durable.recovered}`,
      )
      console.log(`  ledger: ${ledgerLines(dir).join(', ')} (each order charged once)\n`)
    } finally {
      await recovering.close()
    }
  } finally {
    await journal.close()
    await rm(dir, { recursive: true, force: true })
  }
}

function ledgerLines(dir: string): string[] {
  try {
    return readFileSync(join(dir, 'ledger.txt'), 'utf8').split('\n').filter(Boolean)
  } catch {
    return []
  }
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => prefix + line)
    .join('\n')
}

// The host process: opens the durable session and runs the cell (it never gets to finish it).
if (process.argv[2] === 'host') {
  const dir = process.argv[3]!
  const capsule = capsuleIn(dir, JSON.parse(process.env.CAPSULE_DEMO_OPTIONS ?? '{}') as CapsuleOptions)
  const session = await capsule.session({ key: 'shop-1' })
  await session.run(CELL)
  await capsule.close()
}

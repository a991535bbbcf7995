// Worker-side profiles for `--profile`. A cell can profile itself: cProfile around a loop of capability
// calls covers the stub, the send, the wait for the reply and its hand-off on the main thread. What a
// cell cannot see (the worker's dispatch of execute requests, its reader thread) needs the worker's own
// hook: the harness sets CAPSULE_WORKER_PROFILE to a file path and reads that file if one appears.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** The environment variable asking the worker to profile its main thread into the named .pstats file. */
export const WORKER_PROFILE_ENV = 'CAPSULE_WORKER_PROFILE'

const MARKER = 'CAPSULE-BENCH-PSTATS '

/**
 * Wraps cell code in cProfile. The cell prints the top functions by own time, then the raw stats on one
 * marked line (marshal, base64), which {@link saveCellProfile} turns into a .pstats file: a cell does not
 * write files, so this works whatever the session may touch.
 */
export function profiledCell(code: string): string {
  const indented = code
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n')
  return [
    'import cProfile as _bench_cp, pstats as _bench_ps, io as _bench_io, marshal as _bench_m, base64 as _bench_b',
    '_bench_pr = _bench_cp.Profile()',
    '_bench_pr.enable()',
    'try:',
    indented,
    'finally:',
    '    _bench_pr.disable()',
    '_bench_out = _bench_io.StringIO()',
    "_bench_ps.Stats(_bench_pr, stream=_bench_out).sort_stats('tottime').print_stats(15)",
    'print(_bench_out.getvalue())',
    '_bench_pr.create_stats()',
    `print(${JSON.stringify(MARKER)} + _bench_b.b64encode(_bench_m.dumps(_bench_pr.stats)).decode())`,
  ].join('\n')
}

/** Writes `DIR/NAME.pstats` and `DIR/NAME.txt` from a profiled cell's stdout; returns the summary lines. */
export async function saveCellProfile(stdout: string, dir: string, name: string): Promise<string[]> {
  const lines = stdout.split('\n')
  const marked = lines.find((line) => line.startsWith(MARKER))
  if (marked === undefined) return [`${name}: the profiled cell printed no stats`]
  const summary = lines.filter((line) => !line.startsWith(MARKER)).join('\n')
  const stats = join(dir, `${name}.pstats`)
  await writeFile(stats, Buffer.from(marked.slice(MARKER.length), 'base64'))
  await writeFile(join(dir, `${name}.txt`), summary)
  return [`worker cProfile (${name}) → ${stats}`, ...topLines(summary)]
}

/** The header and the first rows of a pstats listing, without the blank and banner lines. */
function topLines(listing: string): string[] {
  const lines = listing.split('\n')
  const header = lines.findIndex((line) => line.trimStart().startsWith('ncalls'))
  if (header < 0) return []
  return lines
    .slice(header, header + 13)
    .filter((line) => line.trim() !== '')
    .map((line) => `    ${line}`)
}

/** Summarises a .pstats file the worker wrote through its hook, or says that none was written. */
export async function summarizeWorkerProfile(python: string, file: string): Promise<string[]> {
  if (!existsSync(file))
    return [`worker main-thread profile: none at ${file} (the worker does not honour ${WORKER_PROFILE_ENV})`]
  const script = `import pstats, sys\npstats.Stats(sys.argv[1]).sort_stats('tottime').print_stats(15)`
  const listing = await new Promise<string>((resolve) => {
    const child = spawn(python, ['-c', script, file], { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.on('close', () => resolve(out))
    child.on('error', () => resolve(''))
  })
  return [`worker main-thread profile → ${file}`, ...topLines(listing)]
}

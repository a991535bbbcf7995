/** The CPython regression suites the compatibility run compares, as names under `test.`. */
export const COMPAT_SUITES: readonly string[] = [
  'test_json',
  'test_re',
  'test_decimal',
  'test_statistics',
  'test_fractions',
  'test_csv',
  'test_itertools',
  'test_collections',
  'test_threading',
  'test_subprocess',
  'test_asyncio.test_tasks',
  'test_asyncio.test_subprocess',
  'test_asyncio.test_locks',
  'test_asyncio.test_queues',
  'test_asyncio.test_futures',
  'test_asyncio.test_events',
  'test_asyncio.test_streams',
  'test_asyncio.test_runners',
]

/** A CI-sized subset: fast suites that still cover threads, sockets on localhost and the event loop. */
export const CI_COMPAT_SUITES: readonly string[] = [
  'test_json',
  'test_fractions',
  'test_csv',
  'test_collections',
  'test_asyncio.test_locks',
  'test_asyncio.test_queues',
  'test_asyncio.test_streams',
  'test_asyncio.test_runners',
]

/** What one suite run counted. */
export interface SuiteCounts {
  run: number
  failures: number
  errors: number
  skipped: number
  /** `module.Class.test: first line of the reason` for each failure and error, to explain a difference. */
  problems: string[]
}

const MARK = 'CAPSULE-COMPAT '

/**
 * The Python program that runs one suite with unittest and prints its counts on one marked line. The
 * same text runs directly and as a cell, so both sides load and count the tests the same way.
 */
export function suiteProgram(suite: string): string {
  if (!/^[A-Za-z0-9_.]+$/.test(suite)) throw new Error(`not a suite name: ${suite}`)
  return [
    'import io as _io, json as _json, unittest as _unittest',
    `_suite = _unittest.defaultTestLoader.loadTestsFromName(${JSON.stringify(`test.${suite}`)})`,
    '_result = _unittest.TextTestRunner(stream=_io.StringIO(), verbosity=0).run(_suite)',
    "_problems = [t.id() + ': ' + (tb.strip().splitlines() or [''])[-1][:160] for t, tb in _result.failures + _result.errors]",
    `print(${JSON.stringify(MARK)} + _json.dumps({"run": _result.testsRun, "failures": len(_result.failures), "errors": len(_result.errors), "skipped": len(_result.skipped), "problems": _problems}))`,
  ].join('\n')
}

/** Reads the counts from a suite program's output, or says why there are none. */
export function countsOf(output: string): SuiteCounts | { error: string } {
  const line = output.split('\n').find((candidate) => candidate.startsWith(MARK))
  if (line === undefined)
    return { error: `no counts in the output (${output.slice(-200).trim() || 'empty'})` }
  return JSON.parse(line.slice(MARK.length)) as SuiteCounts
}

// A CI-sized slice of the CPython compatibility run: CPython's own regression suites give the same
// counts inside a sandboxed session as under the same interpreter directly.

import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { Capsule, probeSandbox } from '@capsule/core'
import { describe, expect, test } from 'vitest'
import { CI_COMPAT_SUITES, countsOf, suiteProgram } from '../cpythonCompat/suites.js'

const PYTHON = '/usr/bin/python3'
const testsuite = existsSync('/usr/lib/python3.11/test/test_json')
const sandbox = await probeSandbox()
const why = !testsuite
  ? ' (skipped: libpython3.11-testsuite is not installed)'
  : !sandbox.available
    ? ' (skipped: bubblewrap is unavailable)'
    : ''

describe.skipIf(why !== '')(`CPython's regression suites in a sandboxed session${why}`, () => {
  test.each(CI_COMPAT_SUITES)(
    '%s counts the same inside the sandbox as directly',
    async (suite) => {
      const direct = countsOf(spawnSync(PYTHON, ['-c', suiteProgram(suite)], { encoding: 'utf8' }).stdout)
      const capsule = new Capsule({ python: PYTHON, sandbox: 'bwrap', limits: { executeTimeoutMs: 120_000 } })
      try {
        const session = await capsule.session()
        const result = await session.run(suiteProgram(suite))
        expect(result.status, result.error?.traceback.join('')).toBe('ok')
        const inside = countsOf(result.stdout)
        expect('error' in direct ? direct : { ...direct, problems: [] }).toMatchObject({
          run: expect.any(Number),
        })
        expect(inside).toEqual(direct)
      } finally {
        await capsule.close()
      }
    },
    120_000,
  )
})

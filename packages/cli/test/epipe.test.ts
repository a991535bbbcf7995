import { spawnSync } from 'node:child_process'
import { expect, test } from 'vitest'
import { CAPSULE_BIN } from './cliHarness.js'

test('output piped into a reader that leaves early ends quietly, without an EPIPE crash', () => {
  const capsule = `"${process.execPath}" "${CAPSULE_BIN}" exec --sandbox none -c 'print("x" * 20_000_000)'`
  const run = spawnSync(
    'bash',
    ['-c', `set -o pipefail; ${capsule} | head -c 10 >/dev/null; echo "status \${PIPESTATUS[0]}" >&2`],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  )
  expect(run.stderr).not.toMatch(/EPIPE|Unhandled|internal error/)
  expect(run.stderr).toMatch(/status 0/)
}, 60_000)

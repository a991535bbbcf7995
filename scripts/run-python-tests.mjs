// Runs the Python worker's unittest suite with every distinct interpreter this machine offers:
// `python3` on PATH (or CAPSULE_PYTHON) and /usr/bin/python3, which may differ (e.g. one has msgpack).
import { spawnSync } from 'node:child_process'
import { existsSync, realpathSync } from 'node:fs'

const candidates = [process.env.CAPSULE_PYTHON, 'python3', '/usr/bin/python3'].filter(Boolean)
const seen = new Map()
for (const candidate of candidates) {
  const probe = spawnSync(candidate, ['-c', 'import sys, os; print(os.path.realpath(sys.executable))'], {
    encoding: 'utf8',
  })
  if (probe.status !== 0) continue
  const real = probe.stdout.trim()
  if (existsSync(real) && !seen.has(realpathSync(real))) seen.set(realpathSync(real), candidate)
}
if (seen.size === 0) {
  console.error('no Python interpreter found (tried python3 and /usr/bin/python3)')
  process.exit(1)
}
let failed = false
for (const [real, candidate] of seen) {
  console.log(`\n── python worker tests with ${candidate} (${real}) ──`)
  const run = spawnSync(
    real,
    ['-m', 'unittest', 'discover', '-s', 'python-worker/tests', '-t', 'python-worker'],
    {
      stdio: 'inherit',
    },
  )
  if (run.status !== 0) failed = true
}
process.exit(failed ? 1 : 0)

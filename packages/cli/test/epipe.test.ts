import { spawn } from 'node:child_process'
import { expect, test } from 'vitest'
import { CAPSULE_COMMAND } from './cliHarness.js'

test('output piped into a reader that leaves early ends quietly, without an EPIPE crash', async () => {
  const capsule = `${CAPSULE_COMMAND.map((part) => `"${part}"`).join(' ')} exec --sandbox none -c 'print("x" * 20_000_000)'`
  const script = `set -o pipefail; ${capsule} | head -c 10 >/dev/null; echo "status \${PIPESTATUS[0]}" >&2`
  // Asynchronously: the test worker must keep answering vitest while the pipeline runs.
  const stderr = await new Promise<string>((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 })
    let text = ''
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk
    })
    child.on('error', reject)
    child.on('close', () => resolve(text))
  })
  expect(stderr).not.toMatch(/EPIPE|Unhandled|internal error/)
  expect(stderr).toMatch(/status 0/)
}, 60_000)

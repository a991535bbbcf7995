import { spawnSync } from 'node:child_process'
import { existsSync, realpathSync } from 'node:fs'

/** One interpreter the integration tests run against, with the codec it will speak. */
export interface TestPython {
  label: string
  python: string
  codec: 'msgpack' | 'json'
}

function probe(python: string): { real: string; msgpack: boolean } | undefined {
  const result = spawnSync(
    python,
    [
      '-c',
      'import sys,os\ntry:\n import msgpack; m=1\nexcept Exception: m=0\nprint(os.path.realpath(sys.executable), m)',
    ],
    {
      encoding: 'utf8',
    },
  )
  if (result.status !== 0) return undefined
  const [real, msgpack] = result.stdout.trim().split(' ')
  return { real: realpathSync(real!), msgpack: msgpack === '1' }
}

/**
 * `python3` on PATH and /usr/bin/python3 when they differ, each with the codec it can speak; an
 * interpreter with msgpack also runs once with JSON forced, so both codecs are always exercised.
 */
export function testPythons(): TestPython[] {
  const out: TestPython[] = []
  const seen = new Set<string>()
  for (const python of [process.env.CAPSULE_PYTHON ?? 'python3', '/usr/bin/python3']) {
    const found = probe(python)
    if (!found || seen.has(found.real)) continue
    seen.add(found.real)
    out.push({
      label: `${python} (${found.msgpack ? 'msgpack' : 'json'})`,
      python,
      codec: found.msgpack ? 'msgpack' : 'json',
    })
    if (found.msgpack) out.push({ label: `${python} (json forced)`, python, codec: 'json' })
  }
  return out
}

/** The interpreter most tests use. */
export const defaultPython: TestPython = testPythons()[0]!

/**
 * The interpreter sandboxed sessions use. A root host's workers run as an unprivileged uid, which cannot
 * enter /root (where `python3` on PATH may live, e.g. pyenv): /usr/bin/python3 is readable by everyone.
 */
export const sandboxedPython: string = existsSync('/usr/bin/python3')
  ? '/usr/bin/python3'
  : defaultPython.python

import { randomBytes } from 'node:crypto'
import { afterAll, expect, test } from 'vitest'
import { Capsule } from '../../src/index.js'
import { defaultPython } from '../pythons.js'

const key = randomBytes(32)
const capsules: Capsule[] = []
function capsule(): Capsule {
  const made = new Capsule({ python: defaultPython.python, sandbox: 'none', checkpointKey: key })
  capsules.push(made)
  return made
}
afterAll(async () => {
  await Promise.all(capsules.map((c) => c.close()))
})

// Several megabytes cross as many frames each way: chunks sealed without a concatenation, and gathered
// into one buffer sized up front on the worker's side, must come back byte for byte.
test('a checkpoint of several megabytes, split over many frames both ways, restores byte for byte', async () => {
  const source = await capsule().session()
  const cell = [
    'import hashlib, random',
    'rng = random.Random(5)',
    'blob = bytes(rng.getrandbits(8) for _ in range(3 * 1024 * 1024 + 17))',
    'grid = [[rng.random() for _ in range(100)] for _ in range(2000)]',
    'digest = hashlib.sha256(blob + repr(grid).encode()).hexdigest()',
  ].join('\n')
  expect((await source.run(cell)).status).toBe('ok')
  const checkpoint = await source.checkpoint()
  expect(checkpoint.bytes.byteLength).toBeGreaterThan(4 * 512 * 1024)
  const restored = await capsule().session({ restore: checkpoint })
  expect(restored.lastRestore?.lost).toEqual([])
  const check = await restored.run(
    'hashlib.sha256(blob + repr(grid).encode()).hexdigest() == digest, len(blob)',
  )
  expect(check.value?.['text/plain']).toBe(`(True, ${3 * 1024 * 1024 + 17})`)
})

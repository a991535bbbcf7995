import { afterEach, describe, expect, test } from 'vitest'
import { Capsule, probeSandbox } from '../../src/index.js'
import { DEFAULT_WORKER_PATH } from '../../src/worker/workerCommand.js'
import {
  WORKER_MALLOC_MMAP_THRESHOLD_BYTES,
  WORKER_MALLOC_TRIM_THRESHOLD_BYTES,
} from '../../src/worker/workerLauncher.js'
import { defaultPython, sandboxedPython } from '../pythons.js'

const probe = await probeSandbox()
const why = probe.available ? '' : ` (skipped: bubblewrap is unavailable here: ${probe.message})`

const PATH_AND_SUBPROCESS =
  'import os, subprocess\n(os.environ["PATH"], subprocess.run(["ls", "/"], capture_output=True).returncode)'

let capsule: Capsule | undefined
afterEach(async () => {
  await capsule?.close()
  capsule = undefined
})

describe("the worker's PATH", () => {
  test("is a fixed system PATH, not the host's (which names home directories), and programs still run", async () => {
    const hostPath = `/home/someone/.local/bin:${process.env.PATH ?? ''}`
    const saved = process.env.PATH
    process.env.PATH = hostPath
    try {
      capsule = new Capsule({ python: defaultPython.python, sandbox: 'none' })
      const session = await capsule.session()
      const result = await session.run(PATH_AND_SUBPROCESS)
      expect(result.value?.['text/plain']).toBe(`('${DEFAULT_WORKER_PATH}', 0)`)
    } finally {
      process.env.PATH = saved
    }
  })

  test('is what the host sets in env.PATH when it sets one', async () => {
    capsule = new Capsule({ python: defaultPython.python, sandbox: 'none', env: { PATH: '/usr/bin:/bin' } })
    const session = await capsule.session()
    expect((await session.run(PATH_AND_SUBPROCESS)).value?.['text/plain']).toBe("('/usr/bin:/bin', 0)")
  })

  test.skipIf(!probe.available)(
    `is the fixed PATH inside the sandbox too, where programs run${why}`,
    async () => {
      capsule = new Capsule({ python: sandboxedPython, sandbox: 'bwrap' })
      const session = await capsule.session()
      expect((await session.run(PATH_AND_SUBPROCESS)).value?.['text/plain']).toBe(
        `('${DEFAULT_WORKER_PATH}', 0)`,
      )
    },
  )
})

describe("the worker's malloc tuning", () => {
  const TUNING =
    'import os\n(os.environ.get("MALLOC_MMAP_THRESHOLD_"), os.environ.get("MALLOC_TRIM_THRESHOLD_"))'
  const expected = `('${WORKER_MALLOC_MMAP_THRESHOLD_BYTES}', '${WORKER_MALLOC_TRIM_THRESHOLD_BYTES}')`

  test('is set for every worker, so streaming large output reuses heap pages instead of faulting new ones', async () => {
    capsule = new Capsule({ python: defaultPython.python, sandbox: 'none' })
    const session = await capsule.session()
    expect((await session.run(TUNING)).value?.['text/plain']).toBe(expected)
  })

  test("is the host's where env sets it", async () => {
    capsule = new Capsule({
      python: defaultPython.python,
      sandbox: 'none',
      env: { MALLOC_TRIM_THRESHOLD_: '0' },
    })
    const session = await capsule.session()
    expect((await session.run(TUNING)).value?.['text/plain']).toBe(
      `('${WORKER_MALLOC_MMAP_THRESHOLD_BYTES}', '0')`,
    )
  })

  test('leaves a memory-limited worker nearly all of its limit to allocate', async () => {
    // A heap padded on every growth (MALLOC_TOP_PAD_) reached ~192 of 256 MiB here; untuned glibc ~239.
    capsule = new Capsule({ python: defaultPython.python, sandbox: 'none', limits: { memoryMb: 256 } })
    const session = await capsule.session()
    const result = await session.run(
      'held = []\ntry:\n    while True:\n        held.append(bytearray(256 * 1024))\nexcept MemoryError:\n    pass\nmib = len(held) // 4\ndel held\nmib',
    )
    expect(Number(result.value?.['text/plain'])).toBeGreaterThanOrEqual(210)
  })

  test.skipIf(!probe.available)(`reaches a sandboxed worker too${why}`, async () => {
    capsule = new Capsule({ python: sandboxedPython, sandbox: 'bwrap' })
    const session = await capsule.session()
    expect((await session.run(TUNING)).value?.['text/plain']).toBe(expected)
  })
})

describe('capsule.info().sandbox', () => {
  test("says what sessions run, and sandboxMode what was configured ('auto' at unrestricted: none)", () => {
    capsule = new Capsule({ python: defaultPython.python, level: 'unrestricted' })
    expect(capsule.info()).toMatchObject({ sandbox: 'none', sandboxMode: 'auto' })
  })

  test.skipIf(!probe.available)(
    `'auto' below unrestricted says bwrap, as its sessions do${why}`,
    async () => {
      capsule = new Capsule({ python: sandboxedPython, level: 'standard' })
      expect(capsule.info()).toMatchObject({ sandbox: 'bwrap', sandboxMode: 'auto' })
      const session = await capsule.session()
      expect(session.info().sandbox).toBe(capsule.info().sandbox)
    },
  )

  test("'none' says none", () => {
    capsule = new Capsule({ python: defaultPython.python, sandbox: 'none' })
    expect(capsule.info()).toMatchObject({ sandbox: 'none', sandboxMode: 'none' })
  })
})

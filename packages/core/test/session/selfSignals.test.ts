import { afterEach, describe, expect, test } from 'vitest'
import { Capsule, type CapsuleError, type Session } from '../../src/index.js'
import { defaultPython } from '../pythons.js'

const capsules: Capsule[] = []
async function open(): Promise<Session> {
  const capsule = new Capsule({ sandbox: 'none', python: defaultPython.python, level: 'restricted' })
  capsules.push(capsule)
  return capsule.session()
}
afterEach(async () => {
  await Promise.all(capsules.splice(0).map((capsule) => capsule.close()))
})

describe('signals Python sends itself', () => {
  test.each([
    [
      '_thread.interrupt_main() from a thread',
      'import _thread, threading\nthreading.Thread(target=_thread.interrupt_main).start()\nwhile True:\n    pass',
    ],
    [
      'signal.raise_signal(SIGINT)',
      'import signal\nsignal.raise_signal(signal.SIGINT)\nwhile True:\n    pass',
    ],
    [
      'os.kill(os.getpid(), SIGINT)',
      'import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)\ntime.sleep(60)',
    ],
  ])('%s raises KeyboardInterrupt in the cell, as in plain CPython', async (_, code) => {
    const session = await open()
    const result = await session.run(code)
    expect(result.status).toBe('error')
    expect(result.error?.ename).toBe('KeyboardInterrupt')
    expect((await session.run('"alive"')).value).toEqual({ 'text/plain': "'alive'" })
  })

  test('a worker killed by SIGABRT has sent what it printed and leaves the crashing line in stderrTail', async () => {
    const session = await open()
    let stdout = ''
    let failure: CapsuleError | undefined
    try {
      for await (const event of session.execute('print("last words")\nimport os\nos.abort()')) {
        if (event.type === 'stdout') stdout += event.text
      }
    } catch (error) {
      failure = error as CapsuleError
    }
    expect(stdout).toBe('last words\n')
    expect(failure?.code).toBe('WORKER_EXITED')
    const details = failure?.details as { signal: string; stderrTail: string }
    expect(details.signal).toBe('SIGABRT')
    expect(details.stderrTail).toContain('Fatal Python error: Aborted')
    expect(details.stderrTail).toContain('File "<cell-1>", line 3')
    // The message quotes the crash itself, not the worker's frames that follow it.
    expect(failure?.message).toContain('Fatal Python error: Aborted')
    expect(failure?.message).toContain('File "<cell-1>", line 3')
    expect(failure?.message).not.toContain('capsule_worker')
  })
})

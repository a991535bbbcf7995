import { afterEach, describe, expect, test } from 'vitest'
import { Capsule, type CapsuleOptions, DEFAULT_LIMITS, isCapsuleError } from '../../src/index.js'
import { defaultPython } from '../pythons.js'

interface LogLine {
  level: string
  message: string
  fields?: Record<string, unknown>
}

const capsules: Capsule[] = []
function open(options: CapsuleOptions = {}) {
  const log: LogLine[] = []
  const record = (level: string) => (message: string, fields?: Record<string, unknown>) =>
    log.push({ level, message, fields })
  const capsule = new Capsule({
    sandbox: 'none',
    python: defaultPython.python,
    codec: defaultPython.codec,
    level: 'restricted',
    logger: { debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') },
    ...options,
  })
  capsules.push(capsule)
  return { capsule, log }
}
afterEach(async () => {
  await Promise.all(capsules.splice(0).map((capsule) => capsule.close()))
})

describe('input() with nobody to answer', () => {
  test('run() without any onInput: EOFError at once, as with a closed stdin, and a warning', async () => {
    const { capsule, log } = open()
    const session = await capsule.session()
    const started = performance.now()
    const result = await session.run('input("Name? ")')
    expect(performance.now() - started).toBeLessThan(5_000)
    expect(result.error?.ename).toBe('EOFError')
    expect(result.error?.evalue).toMatch(/^EOF when reading a line: nobody is there to answer input\(\)/)
    expect(log.some((line) => line.level === 'warn' && line.message.startsWith('input() has nobody'))).toBe(
      true,
    )
    // The cell can handle it as Python code handles end of file.
    const handled = await session.run('try:\n    input()\nexcept EOFError:\n    r = "eof"\nr')
    expect(handled.value?.['text/plain']).toBe("'eof'")
    expect(capsule.promises.list()).toEqual([])
  })

  test('getpass() too', async () => {
    const { capsule } = open()
    const session = await capsule.session()
    expect((await session.run('import getpass\ngetpass.getpass()')).error?.ename).toBe('EOFError')
  })

  test('an execute() consumer reading the events can answer: no EOFError', async () => {
    const { capsule } = open()
    const session = await capsule.session()
    let value: unknown
    for await (const event of session.execute('input("Name? ")')) {
      if (event.type === 'input') event.reply('Ada')
      if (event.type === 'result') value = event.result.value?.['text/plain']
    }
    expect(value).toBe("'Ada'")
  })

  test('an onInput handler that declines leaves the question to capsule.promises, which answers while it is pending', async () => {
    const { capsule, log } = open()
    let asked: (id: string) => void = () => {}
    const question = new Promise<string>((resolve) => {
      asked = resolve
    })
    const session = await capsule.session({
      onInput: ({ promiseId }) => {
        asked(promiseId)
        return undefined
      },
    })
    const running = session.run('input("Approve? ")')
    const id = await question
    await until(() => log.some((line) => line.message.startsWith('input() is waiting')))
    expect(capsule.promises.list({ kind: 'input' }).map((record) => record.id)).toEqual([id])
    expect(session.info().waitingForInput).toBe(true)
    capsule.promises.resolve(id, 'yes')
    expect((await running).value?.['text/plain']).toBe("'yes'")
    expect(session.info().waitingForInput).toBe(false)
  })
})

describe('limits.inputTimeoutMs', () => {
  test('defaults below executeTimeoutMs', () => {
    expect(DEFAULT_LIMITS.inputTimeoutMs).toBeGreaterThan(0)
    expect(DEFAULT_LIMITS.inputTimeoutMs).toBeLessThan(DEFAULT_LIMITS.executeTimeoutMs)
  })

  test('an unanswered input() ends the execution as a timeout that says it was waiting for input', async () => {
    const { capsule, log } = open({ limits: { inputTimeoutMs: 300 } })
    const session = await capsule.session({ onInput: () => undefined })
    const result = await session.run('print("asking")\nanswer = input("Colour? ")')
    expect(result.status).toBe('timeout')
    expect(result.details).toEqual({
      limit: 'inputTimeoutMs',
      timeoutMs: 300,
      waitingFor: 'input',
      prompt: 'Colour? ',
    })
    expect(result.error?.evalue).toBe(
      'the cell was waiting for an answer to input() "Colour? " when inputTimeoutMs (300 ms) passed',
    )
    expect(result.stateLost).toBe(false)
    expect(log.some((line) => line.level === 'warn' && line.message.includes('not answered within'))).toBe(
      true,
    )
    // The session goes on, and the question is settled for good.
    expect((await session.run('1 + 1')).value?.['text/plain']).toBe('2')
    expect(capsule.promises.list()).toEqual([])
  })

  test('an execute timeout while input() waits says so too', async () => {
    const { capsule } = open({ limits: { inputTimeoutMs: 0 } })
    const session = await capsule.session({ onInput: () => undefined })
    const result = await session.run('input("Colour? ")', { timeoutMs: 300 })
    expect(result.status).toBe('timeout')
    expect(result.details).toMatchObject({ limit: 'timeoutMs', timeoutMs: 300, waitingFor: 'input' })
  })

  test('a plain execute timeout names its limit and no input', async () => {
    const { capsule } = open()
    const session = await capsule.session()
    const result = await session.run('import time\ntime.sleep(5)', { timeoutMs: 200 })
    expect(result.details).toEqual({ limit: 'timeoutMs', timeoutMs: 200 })
  })

  test('is validated: an integer, and below executeTimeoutMs', () => {
    const invalid = (limits: CapsuleOptions['limits']) => () => new Capsule({ limits })
    const isOptions = (error: unknown) => isCapsuleError(error, 'INVALID_OPTIONS')
    expect(invalid({ inputTimeoutMs: -1 })).toThrow(/^limits\.inputTimeoutMs: /)
    expect(invalid({ inputTimeoutMs: 1.5 })).toThrow(/^limits\.inputTimeoutMs: /)
    expect(invalid({ inputTimeoutMs: 10 * 60_000 })).toThrow('inputTimeoutMs must be below executeTimeoutMs')
    expect(invalid({ inputTimeoutMs: 1000, executeTimeoutMs: 1000 })).toThrow(/below executeTimeoutMs/)
    try {
      invalid({ inputTimeoutMs: -1 })()
    } catch (error) {
      expect(isOptions(error)).toBe(true)
    }
    expect(() => new Capsule({ limits: { inputTimeoutMs: 0, executeTimeoutMs: 1000 } })).not.toThrow()
    expect(() => new Capsule({ limits: { executeTimeoutMs: 30_000 } })).not.toThrow()
  })
})

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s')
    await new Promise((resolve) => setImmediate(resolve))
  }
}

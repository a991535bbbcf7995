import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { Capsule } from '../../src/index.js'
import { BREAKER_BASE_BACKOFF_MS, BREAKER_THRESHOLD } from '../../src/session/sessionPool.js'
import { capsuleHarness } from '../capsuleHarness.js'
import { manualClock, until } from '../fixtures.js'

const harness = capsuleHarness()
const open = harness.capsule

// The worker processes this test process started (each pooled session has one), read from /proc.
function childPids(): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // Field 4 of /proc/<pid>/stat is the parent pid; the command name before it may hold spaces.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (parent === process.pid) pids.push(Number(entry))
    } catch {
      // The process ended while we looked.
    }
  }
  return pids
}

describe('a pooled Capsule', () => {
  test('hands out warm sessions, and a returned session is recycled with a fresh namespace', async () => {
    const capsule = open({ pool: { min: 2 } })
    await until(() => capsule.info().pool.warm === 2)
    const first = await capsule.session()
    await first.run('secret = "user one"')
    await first.close()
    await until(() => capsule.info().pool.warm === 2)
    const second = await capsule.session()
    expect(second.id).not.toBe(first.id)
    expect((await second.run('"secret" in globals()')).value?.['text/plain']).toBe('False')
  })

  test('a warm worker killed from outside is replaced before anyone gets it', async () => {
    const capsule = open({ pool: { min: 1 } })
    await until(() => capsule.info().pool.warm === 1)
    const created = capsule.info().pool.created
    for (const pid of childPids()) process.kill(pid, 'SIGKILL')
    await until(() => capsule.info().pool.created === created + 1 && capsule.info().pool.warm === 1)
    const session = await capsule.session()
    expect((await session.run('1 + 1')).value?.['text/plain']).toBe('2')
  })

  test('at max, session() waits until another session closes', async () => {
    const capsule = open({ pool: { max: 1 } })
    const held = await capsule.session()
    let served = false
    const waiting = capsule.session().then((session) => {
      served = true
      return session
    })
    await until(() => capsule.info().pool.waiting === 1)
    expect(served).toBe(false)
    await held.close()
    const next = await waiting
    expect((await next.run('2')).value?.['text/plain']).toBe('2')
  })

  test('a broken interpreter trips the breaker instead of spinning', async () => {
    // The pool's backoff runs on a clock the test advances: each retry waits for it, none comes early.
    const clock = manualClock()
    const capsule = open({ python: '/nonexistent/python3', pool: { min: 1 }, clock })
    for (let failure = 1; failure < BREAKER_THRESHOLD; failure += 1) {
      await until(() => capsule.info().pool.startFailures === failure)
      clock.advance(BREAKER_BASE_BACKOFF_MS * 2 ** (failure - 1))
    }
    await until(() => capsule.info().pool.breaker.state === 'open')
    const failures = capsule.info().pool.startFailures
    expect(failures).toBe(BREAKER_THRESHOLD)
    await expect(capsule.session()).rejects.toMatchObject({ code: 'PYTHON_NOT_FOUND' })
    // Just short of the open breaker's backoff: still no new start.
    clock.advance(BREAKER_BASE_BACKOFF_MS * 2 ** (BREAKER_THRESHOLD - 1) - 1)
    await new Promise((resolve) => setImmediate(resolve))
    expect(capsule.info().pool.startFailures).toBe(failures)
  })

  test('maxExecutionsPerWorker caps a session, which then refuses with LIMIT_EXCEEDED', async () => {
    const capsule = open({ pool: { maxExecutionsPerWorker: 2 } })
    const session = await capsule.session()
    await session.run('1')
    await session.run('2')
    await expect(session.run('3')).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' })
  })

  test('bad pool options fail at construction', () => {
    expect(() => new Capsule({ pool: { min: 5, max: 2 } })).toThrow(/pool.min must not exceed pool.max/)
    expect(() => new Capsule({ pool: { max: 0 } })).toThrow(/pool\.max/)
  })
})

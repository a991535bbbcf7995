import { createServer, Socket } from 'node:net'
import { setImmediate as nextTurn } from 'node:timers/promises'
import { describe, expect, test } from 'vitest'
import { MAX_SPIN_TURNS, MIN_REPLY_SPIN_MS, REPLY_SPIN_MS, ReplySpin } from '../../src/transport/replySpin.js'

/** A clock the test moves by hand, in ms. */
function manualClock(): { now: () => number; advance: (ms: number) => void } {
  let time = 1000
  return { now: () => time, advance: (ms) => (time += ms) }
}

/** Turns of the event loop until `spin` stops, or `limit` turns. */
async function turnsUntilStopped(spin: ReplySpin, limit = MAX_SPIN_TURNS * 2): Promise<number> {
  let turns = 0
  while (spin.spinning && turns < limit) {
    await nextTurn()
    turns += 1
  }
  return turns
}

describe('ReplySpin', () => {
  test('keeps turning after a send until a reply comes, and a quick reply keeps the full window', async () => {
    const clock = manualClock()
    const spin = new ReplySpin(clock.now)
    spin.sent()
    expect(spin.spinning).toBe(true)
    await nextTurn()
    await nextTurn()
    expect(spin.spinning).toBe(true)
    clock.advance(REPLY_SPIN_MS / 2)
    spin.received()
    expect(spin.spinning).toBe(false)
    expect(spin.windowMs).toBe(REPLY_SPIN_MS)
    expect(await turnsUntilStopped(spin)).toBe(0)
  })

  test('a window that passes with no reply is halved, down to none, and a quick reply restores it', async () => {
    const clock = manualClock()
    const spin = new ReplySpin(clock.now)
    const windows: number[] = []
    for (let i = 0; i < 20 && spin.windowMs > 0; i += 1) {
      spin.sent()
      clock.advance(spin.windowMs)
      await turnsUntilStopped(spin)
      windows.push(spin.windowMs)
      clock.advance(1) // the slow reply
      spin.received()
    }
    expect(windows[0]).toBe(REPLY_SPIN_MS / 2)
    expect(windows.at(-1)).toBe(0)
    expect(windows.at(-2)).toBeGreaterThanOrEqual(MIN_REPLY_SPIN_MS)
    // With no window a send does not spin, but a reply within REPLY_SPIN_MS brings the spin back.
    spin.sent()
    expect(spin.spinning).toBe(false)
    clock.advance(REPLY_SPIN_MS)
    spin.received()
    expect(spin.windowMs).toBe(REPLY_SPIN_MS)
  })

  test('a reply measures from the first unanswered send, not the last', async () => {
    const clock = manualClock()
    const spin = new ReplySpin(clock.now)
    spin.sent()
    clock.advance(REPLY_SPIN_MS)
    await turnsUntilStopped(spin)
    spin.sent() // a heartbeat, say, long after the frame that awaits its reply
    clock.advance(REPLY_SPIN_MS / 4)
    await turnsUntilStopped(spin)
    spin.received()
    expect(spin.windowMs).toBeLessThan(REPLY_SPIN_MS)
  })

  test('a frozen clock ends the spin after MAX_SPIN_TURNS turns', async () => {
    const spin = new ReplySpin(() => 0)
    spin.sent()
    const turns = await turnsUntilStopped(spin)
    expect(spin.spinning).toBe(false)
    expect(turns).toBeGreaterThanOrEqual(MAX_SPIN_TURNS - 1)
    expect(turns).toBeLessThanOrEqual(MAX_SPIN_TURNS + 1)
  })

  test('stop() ends a spin and no later send starts one', async () => {
    const spin = new ReplySpin(() => 0)
    spin.sent()
    spin.stop()
    expect(spin.spinning).toBe(false)
    spin.sent()
    expect(spin.spinning).toBe(false)
    expect(await turnsUntilStopped(spin)).toBe(0)
  })

  test('blocks nothing: timers fire and a socket is read while it spins', async () => {
    // A clock that never moves and no cap on turns: the spin lasts until stop().
    const spin = new ReplySpin(() => 0, Number.POSITIVE_INFINITY)
    const server = createServer((peer) => peer.end('pong'))
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as { port: number }
      spin.sent()
      const timer = new Promise<string>((resolve) => setTimeout(() => resolve('timer'), 1))
      const read = new Promise<string>((resolve) => {
        const socket = new Socket()
        let text = ''
        socket.on('data', (chunk) => (text += chunk))
        socket.on('end', () => resolve(text))
        socket.connect(port, '127.0.0.1')
      })
      expect(await Promise.all([timer, read])).toEqual(['timer', 'pong'])
      expect(spin.spinning).toBe(true)
      spin.stop()
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })
})

import { expect, test } from 'vitest'
import { DEFAULT_LIMITS } from '../../src/session/limits.js'
import type { FrameTransport, SendOptions } from '../../src/transport/frameTransport.js'
import { WorkerConnection } from '../../src/worker/workerConnection.js'
import { manualClock } from '../fixtures.js'
import { ScriptedWorker } from './scriptedWorker.js'

test('only heartbeats are sent as frames nobody waits on (the transport does not spin for them)', async () => {
  const worker = new ScriptedWorker()
  const clock = manualClock()
  const sends: Array<{ type: string; awaited: boolean }> = []
  const host = worker.host
  // The scripted worker's end, with each send's options noted next to the message it carried.
  const recording: FrameTransport = {
    start: (handlers) => host.start(handlers),
    send(body: Uint8Array, options?: SendOptions) {
      const { type } = JSON.parse(Buffer.from(body).toString()) as { type: string }
      sends.push({ type, awaited: options?.awaited !== false })
      return host.send(body)
    },
    pause: () => host.pause(),
    resume: () => host.resume(),
    close: () => host.close(),
  }
  const connection = await WorkerConnection.open(
    worker.port,
    recording,
    {
      maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes,
      frameShape: { maxFrameKeys: 1000, maxFrameItems: 1000, maxFrameDepth: 32 },
      startTimeoutMs: 5_000,
      heartbeatIntervalMs: 1_000,
      heartbeatTimeoutMs: 60_000,
      init: {
        type: 'init',
        session: 'ses_test',
        capabilities: [],
        options: {
          maxOutputBytes: 1 << 20,
          maxFrameBytes: 1 << 20,
          outputFlushMs: 10,
          displayMaxBytes: 1 << 16,
        },
      },
      clock,
    },
    { onMessage: () => undefined, onExit: () => undefined },
  )
  clock.advance(2_500)
  connection.send({ type: 'execute', id: 1, code: '1+1' })
  expect(sends).toEqual([
    { type: 'init', awaited: true },
    { type: 'heartbeat', awaited: false },
    { type: 'heartbeat', awaited: false },
    { type: 'execute', awaited: true },
  ])
  connection.send({ type: 'shutdown' })
  await worker.port.exited()
})

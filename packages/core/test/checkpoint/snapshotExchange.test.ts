import { describe, expect, test } from 'vitest'
import { isCapsuleError } from '../../src/index.js'
import { MIN_DRAIN_BYTES, SnapshotExchange } from '../../src/session/snapshotExchange.js'

const names = { data: [], redefined: [], lost: [] }

function chunk(id: number, bytes: number) {
  return { type: 'checkpoint_chunk', id, data: new Uint8Array(bytes) } as const
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  return isCapsuleError(error) ? error.code : undefined
}

describe('SnapshotExchange, checkpoint side', () => {
  test('chunks within the limit settle with every byte, in order', async () => {
    const exchange = SnapshotExchange.checkpoint(1, 10)
    exchange.onMessage(chunk(1, 4))
    exchange.onMessage(chunk(1, 6))
    exchange.onMessage({ type: 'checkpoint_done', id: 1, bytes: 10, python: '3.11', hashSeed: '0', names })
    const capture = await exchange.result
    expect(capture.payload.map((part) => part.byteLength)).toEqual([4, 6])
  })

  test('past the limit the rest is drained and dropped, and the end fails LIMIT_EXCEEDED', async () => {
    const exchange = SnapshotExchange.checkpoint(2, 10)
    exchange.onMessage(chunk(2, 8))
    exchange.onMessage(chunk(2, 8))
    exchange.onMessage(chunk(2, 4))
    let settled = false
    exchange.result.then(
      () => {
        settled = true
      },
      () => {
        settled = true
      },
    )
    await Promise.resolve()
    // Still under way: the worker has not ended its checkpoint, so the session stays busy with it.
    expect(settled).toBe(false)
    exchange.onMessage({ type: 'checkpoint_done', id: 2, bytes: 20, python: '3.11', hashSeed: '0', names })
    expect(await codeOf(exchange.result)).toBe('LIMIT_EXCEEDED')
  })

  test('a worker that fails its checkpoint after the limit reports the limit, not its own message', async () => {
    const exchange = SnapshotExchange.checkpoint(3, 4)
    exchange.onMessage(chunk(3, 6))
    exchange.onMessage({ type: 'checkpoint_failed', id: 3, message: 'anything' })
    expect(await codeOf(exchange.result)).toBe('LIMIT_EXCEEDED')
  })

  test('streaming far past the limit (the limit and MIN_DRAIN_BYTES more) is a protocol breach', () => {
    const exchange = SnapshotExchange.checkpoint(4, 10)
    exchange.onMessage(chunk(4, 10 + MIN_DRAIN_BYTES))
    expect(() => exchange.onMessage(chunk(4, 1))).toThrow(/maxCheckpointBytes/)
  })

  test('a large limit is drained up to twice itself', () => {
    const limit = 2 * MIN_DRAIN_BYTES
    const exchange = SnapshotExchange.checkpoint(6, limit)
    exchange.onMessage(chunk(6, 2 * limit))
    expect(() => exchange.onMessage(chunk(6, 1))).toThrow(/maxCheckpointBytes/)
  })

  test('a done whose size does not match its chunks is a protocol breach, even after the limit', () => {
    const exchange = SnapshotExchange.checkpoint(5, 4)
    exchange.onMessage(chunk(5, 6))
    expect(() =>
      exchange.onMessage({ type: 'checkpoint_done', id: 5, bytes: 5, python: '3.11', hashSeed: '0', names }),
    ).toThrow(/does not match/)
  })
})

import { randomBytes } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { CheckpointPayload } from '../../src/checkpoint/checkpointPayload.js'
import {
  CHECKPOINT_FORMAT,
  type CheckpointHeader,
  openCheckpoint,
  sealCheckpoint,
} from '../../src/checkpoint/checkpointSeal.js'

const key = randomBytes(32)
const header: CheckpointHeader = {
  format: CHECKPOINT_FORMAT,
  createdAt: new Date(0).toISOString(),
  python: '3.11.2/a70d0d0a',
  hashSeed: '12345',
  capabilities: ['fs.read'],
  names: { data: ['x'], redefined: [], lost: [] },
}

/** A worker payload: its total length (u64 BE, `claimed` when the worker lies) and then random bytes. */
function workerPayload(bytes: number, claimed: number = bytes): Uint8Array {
  const payload = Uint8Array.from(randomBytes(bytes))
  const view = new DataView(payload.buffer)
  view.setUint32(0, Math.floor(claimed / 2 ** 32))
  view.setUint32(4, claimed >>> 0)
  return payload
}

function gather(payload: Uint8Array, chunkBytes: number, maxBytes = 1 << 30): CheckpointPayload {
  const gathered = new CheckpointPayload(maxBytes)
  for (let at = 0; at < payload.byteLength; at += chunkBytes) {
    gathered.add(payload.subarray(at, at + chunkBytes))
  }
  return gathered
}

function expectSealedLikeACopy(
  gathered: CheckpointPayload,
  payload: Uint8Array,
  sealedHeader = header,
): void {
  const sealed = gathered.seal(sealedHeader, key)
  expect(Buffer.from(sealed).equals(Buffer.from(sealCheckpoint(sealedHeader, payload, key)))).toBe(true)
  const opened = openCheckpoint(sealed, key)
  expect(Buffer.from(opened.payload).equals(Buffer.from(payload))).toBe(true)
}

describe('a checkpoint payload gathered as it arrives', () => {
  test('a payload that announces its length is sealed in the buffer it arrived in', () => {
    const payload = workerPayload(300_001)
    const gathered = gather(payload, 65_536)
    expect(gathered.received).toBe(payload.byteLength)
    const sealed = gathered.seal(header, key)
    // In place: a view into one buffer that held the payload from its first chunk on.
    expect(sealed.byteOffset).toBeGreaterThan(0)
    expectSealedLikeACopy(gather(payload, 65_536), payload)
  })

  test('a worker that claims less than it sends is sealed from its chunks, byte for byte', () => {
    const payload = workerPayload(200_000, 50_000)
    expectSealedLikeACopy(gather(payload, 30_000), payload)
  })

  test('a worker that claims more than it sends, or more than the cap, is sealed from its chunks', () => {
    const short = workerPayload(100_000, 400_000)
    expectSealedLikeACopy(gather(short, 30_000), short)
    const huge = workerPayload(100_000, 2 ** 40)
    expectSealedLikeACopy(gather(huge, 30_000, 1_000_000), huge)
    const overCap = workerPayload(100_000, 2_000_000)
    expectSealedLikeACopy(gather(overCap, 30_000, 1_000_000), overCap)
  })

  test('a first chunk too short to hold the length, and a header larger than its room, still seal', () => {
    const payload = workerPayload(10_000)
    expectSealedLikeACopy(gather(payload, 5), payload)
    const names = Array.from({ length: 20_000 }, (_, i) => `name_${i}`)
    const big = { ...header, names: { data: names, redefined: [], lost: [] } }
    expectSealedLikeACopy(gather(payload, 4096), payload, big)
  })
})

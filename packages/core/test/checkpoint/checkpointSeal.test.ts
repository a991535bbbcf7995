import { randomBytes } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import {
  CHECKPOINT_FORMAT,
  type CheckpointHeader,
  openCheckpoint,
  sealCheckpoint,
} from '../../src/checkpoint/checkpointSeal.js'
import { isCapsuleError } from '../../src/errors.js'

const key = randomBytes(32)
const header: CheckpointHeader = {
  format: CHECKPOINT_FORMAT,
  createdAt: new Date(0).toISOString(),
  python: '3.11.2/a70d0d0a',
  hashSeed: '12345',
  capabilities: ['fs.read'],
  names: { data: ['x'], redefined: ['f'], lost: [{ name: 'h', reason: 'unpicklable: open file' }] },
}
const payload = Uint8Array.from(randomBytes(4096))

function refusal(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    expect(isCapsuleError(error, 'CHECKPOINT_INVALID')).toBe(true)
    return (error as { details: { reason: unknown } }).details.reason
  }
  throw new Error('the checkpoint was accepted')
}

describe('sealed checkpoints', () => {
  test('open returns the header and the exact payload', () => {
    const opened = openCheckpoint(sealCheckpoint(header, payload, key), key)
    expect(opened.header).toEqual(header)
    expect(Buffer.from(opened.payload).equals(Buffer.from(payload))).toBe(true)
  })

  test('one flipped bit anywhere is refused as a bad signature', () => {
    const sealed = sealCheckpoint(header, payload, key)
    for (const at of [20, 40, sealed.length - 100, sealed.length - 1]) {
      const tampered = Uint8Array.from(sealed)
      tampered[at] = (tampered[at] as number) ^ 1
      expect(refusal(() => openCheckpoint(tampered, key))).toBe('signature')
    }
  })

  test('another host’s key is refused', () => {
    expect(refusal(() => openCheckpoint(sealCheckpoint(header, payload, key), randomBytes(32)))).toBe(
      'signature',
    )
  })

  test('truncated, foreign, other-format and oversized checkpoints are refused with their reason', () => {
    const sealed = sealCheckpoint(header, payload, key)
    expect(refusal(() => openCheckpoint(sealed.subarray(0, 10), key))).toBe('truncated')
    expect(refusal(() => openCheckpoint(sealed.subarray(0, sealed.length - 1), key))).toBe('signature')
    expect(refusal(() => openCheckpoint(Buffer.from('PK\x03\x04 not a checkpoint at all'), key))).toBe(
      'foreign',
    )
    const future = Uint8Array.from(sealed)
    future[11] = 2
    expect(refusal(() => openCheckpoint(future, key))).toBe('format')
    expect(refusal(() => openCheckpoint(sealed, key, 1000))).toBe('too_large')
  })

  test('a header length pointing past the end is truncation, not a crash', () => {
    const sealed = Buffer.from(sealCheckpoint(header, payload, key))
    sealed.writeUInt32BE(0xffffff00, 12)
    expect(refusal(() => openCheckpoint(sealed, key))).toBe('truncated')
  })
})

import { describe, expect, test } from 'vitest'
import {
  DISPLAY_TRUNCATION_MARKER,
  OUTPUT_TRUNCATION_MARKER,
  OutputCap,
  utf8Prefix,
} from '../../src/session/outputCap.js'

const bytes = (text: string) => Buffer.byteLength(text, 'utf8')

describe('OutputCap', () => {
  test('keeps output up to the cap plus the worker’s own marker, so a well-behaved worker is never cut', () => {
    const cap = new OutputCap({ maxOutputBytes: 10, maxDisplayOutputBytes: 100 })
    expect(cap.stream('0123456789')).toEqual({ keep: '0123456789' })
    expect(cap.stream(OUTPUT_TRUNCATION_MARKER)).toEqual({ keep: OUTPUT_TRUNCATION_MARKER })
    expect(cap.droppedOutputBytes).toBe(0)
  })

  test('cuts the chunk that crosses the cap at a character boundary, marks once, and counts the rest', () => {
    const cap = new OutputCap({ maxOutputBytes: 4, maxDisplayOutputBytes: 100 })
    const room = 4 + bytes(OUTPUT_TRUNCATION_MARKER)
    const text = `${'a'.repeat(room - 1)}é€😀`
    expect(cap.stream(text)).toEqual({ keep: 'a'.repeat(room - 1), marker: OUTPUT_TRUNCATION_MARKER })
    expect(cap.stream('more')).toEqual({ keep: undefined })
    expect(cap.droppedOutputBytes).toBe(bytes('é€😀') + 4)
  })

  test('keeps displays while they fit, cuts the one that crosses to its text/plain, then drops the rest', () => {
    const cap = new OutputCap({ maxOutputBytes: 10, maxDisplayOutputBytes: 1000 })
    const small = { 'text/plain': 'x', 'text/html': '<b>x</b>' }
    expect(cap.display(small, 600)).toEqual({ keep: small })
    const crossing = cap.display({ 'text/plain': 'y'.repeat(5000), 'image/png': 'AAAA' }, 5100)
    expect(crossing).toEqual({
      keep: { 'text/plain': `${'y'.repeat(397)}…` },
      marker: DISPLAY_TRUNCATION_MARKER,
    })
    expect(cap.display(small, 10)).toEqual({ keep: undefined })
    expect(cap.droppedDisplayBytes).toBe(5100 - 400 + 10)
  })

  test('drops a crossing display that has no text to keep', () => {
    const cap = new OutputCap({ maxOutputBytes: 10, maxDisplayOutputBytes: 100 })
    expect(cap.display({ 'image/png': 'A'.repeat(500) }, 520)).toEqual({
      keep: undefined,
      marker: DISPLAY_TRUNCATION_MARKER,
    })
    expect(cap.droppedDisplayBytes).toBe(520)
  })
})

test('utf8Prefix never splits a character or a surrogate pair', () => {
  const text = 'aé€😀b'
  const sizes = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
  expect(sizes.map((size) => utf8Prefix(text, size))).toEqual([
    '',
    'a',
    'a',
    'aé',
    'aé',
    'aé',
    'aé€',
    'aé€',
    'aé€',
    'aé€',
    'aé€😀',
    'aé€😀b',
    'aé€😀b',
  ])
})

import { expect, test } from 'vitest'
import { TextAccumulator } from '../../src/session/textAccumulator.js'

test('keeps every piece in order, small and large mixed', () => {
  const accumulator = new TextAccumulator()
  const pieces: string[] = []
  for (let i = 0; i < 1000; i += 1) {
    const piece = i % 97 === 0 ? `${i}:${'L'.repeat(10_000)}|` : `${i},`
    pieces.push(piece)
    accumulator.push(piece)
  }
  expect(accumulator.toString()).toBe(pieces.join(''))
})

test('reads the same twice, and grows after a read', () => {
  const accumulator = new TextAccumulator()
  accumulator.push('a')
  accumulator.push('b'.repeat(5000))
  accumulator.push('c')
  expect(accumulator.toString()).toBe(`a${'b'.repeat(5000)}c`)
  expect(accumulator.toString()).toBe(`a${'b'.repeat(5000)}c`)
  accumulator.push('d')
  expect(accumulator.toString()).toBe(`a${'b'.repeat(5000)}cd`)
})

test('is empty before anything arrives', () => {
  expect(new TextAccumulator().toString()).toBe('')
})

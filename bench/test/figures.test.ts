import { describe, expect, test } from 'vitest'
import {
  againstFloor,
  describeTarget,
  distanceFromFloor,
  type Figure,
  floorFigure,
  percentile,
  ratioToFloor,
  verdict,
} from '../figures.js'

const floor = floorFigure('f', 'floor', 40, 'µs', 'lower')

describe('verdict', () => {
  test('a ratio target compares the figure divided by its floor', () => {
    const at = (value: number) =>
      againstFloor(floor, { id: 'x', label: 'x', value, target: { kind: 'ratio-at-most', limit: 1.5 } })
    expect(verdict(at(60))).toBe('PASS')
    expect(verdict(at(60.1))).toBe('MISS')
    expect(ratioToFloor(at(60))).toBe(1.5)
  })

  test('a lower-bound ratio target passes at or above the limit', () => {
    const http = floorFigure('h', 'undici', 1000, 'req/s', 'higher')
    const at = (value: number) =>
      againstFloor(http, { id: 'x', label: 'x', value, target: { kind: 'ratio-at-least', limit: 0.6 } })
    expect(verdict(at(600))).toBe('PASS')
    expect(verdict(at(599))).toBe('MISS')
  })

  test('floor-plus targets subtract the floor, and the distance is shown in the unit', () => {
    const plain = floorFigure('s', 'plain', 50, 'ms', 'lower')
    const at = (value: number) =>
      againstFloor(plain, { id: 'b', label: 'b', value, target: { kind: 'floor-plus-at-most', limit: 8 } })
    expect(verdict(at(58))).toBe('PASS')
    expect(verdict(at(58.5))).toBe('MISS')
    expect(distanceFromFloor(at(58.5))).toBe('+8.50 ms')
    expect(distanceFromFloor(at(45))).toBe('−5.00 ms')
  })

  test('absolute targets ignore any floor', () => {
    const rate: Figure = {
      id: 'g',
      label: 'g',
      value: 99_999,
      unit: 'calls/s',
      better: 'higher',
      target: { kind: 'at-least', limit: 100_000 },
    }
    expect(verdict(rate)).toBe('MISS')
    expect(verdict({ ...rate, value: 100_000 })).toBe('PASS')
    expect(verdict({ ...rate, target: { kind: 'at-most', limit: 100_000 } })).toBe('PASS')
  })

  test('no target, no verdict; a ratio target without a floor, or a NaN figure, misses', () => {
    expect(verdict(floor)).toBeUndefined()
    const orphan: Figure = {
      id: 'o',
      label: 'o',
      value: 1,
      unit: 'µs',
      better: 'lower',
      target: { kind: 'ratio-at-most', limit: 2 },
    }
    expect(verdict(orphan)).toBe('MISS')
    expect(verdict({ ...orphan, value: Number.NaN, target: { kind: 'at-most', limit: 5 } })).toBe('MISS')
  })

  test('a figure held against a floor takes its unit and direction and copies its value', () => {
    const figure = againstFloor(floor, { id: 'x', label: 'x', value: 80 })
    expect(figure).toMatchObject({ unit: 'µs', better: 'lower', floor: { id: 'f', value: 40, unit: 'µs' } })
    expect(distanceFromFloor(figure)).toBe('2.00×')
  })
})

describe('describeTarget and percentile', () => {
  test('targets read as the issue states them', () => {
    expect(describeTarget({ kind: 'ratio-at-most', limit: 1.5 }, 'µs')).toBe('≤ 1.5× floor')
    expect(describeTarget({ kind: 'ratio-at-least', limit: 0.6 }, 'req/s')).toBe('≥ 0.6× floor')
    expect(describeTarget({ kind: 'floor-plus-at-most', limit: 8 }, 'ms')).toBe('≤ floor + 8 ms')
    expect(describeTarget({ kind: 'at-least', limit: 100_000 }, 'calls/s')).toBe('≥ 100,000 calls/s')
  })

  test('percentile is nearest-rank and does not reorder its input', () => {
    const values = [5, 1, 4, 2, 3]
    expect(percentile(values, 50)).toBe(3)
    expect(percentile(values, 99)).toBe(5)
    expect(percentile(values, 0)).toBe(1)
    expect(values).toEqual([5, 1, 4, 2, 3])
    expect(percentile([], 50)).toBeNaN()
  })
})

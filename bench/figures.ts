// What a benchmark measures, the floor it is held against and the target it must reach, with the one
// function that says whether the target is met. Floors are measured in the same run as the figures.

/**
 * A target for a figure. Ratio targets divide the figure by its floor; `floor-plus-at-most` subtracts
 * it (same unit), as in "bubblewrap spawn-to-ready ≤ unsandboxed + 8 ms".
 */
export type Target =
  | { kind: 'ratio-at-most'; limit: number }
  | { kind: 'ratio-at-least'; limit: number }
  | { kind: 'floor-plus-at-most'; limit: number }
  | { kind: 'at-most'; limit: number }
  | { kind: 'at-least'; limit: number }

/** Whether a bigger value of a figure is an improvement. */
export type Direction = 'lower' | 'higher'

/** One measured number. */
export interface Figure {
  /** Stable key (`pipeline.msgpack.run.p50`): what `--compare` matches on. */
  id: string
  label: string
  value: number
  unit: string
  better: Direction
  /** The floor this figure is held against, copied in so a saved run stands on its own. */
  floor?: { id: string; value: number; unit: string }
  target?: Target
  /** True for a floor itself. */
  isFloor?: boolean
}

/** A figure that could not be measured here, and why. */
export interface Skipped {
  id: string
  label: string
  reason: string
  /** True when the benchmark threw, rather than finding something it needs missing. */
  failed?: boolean
}

/** What one benchmark hands back. */
export interface Outcome {
  figures: Figure[]
  skipped: Skipped[]
}

export type Verdict = 'PASS' | 'MISS'

/** The figure divided by its floor, or undefined without a floor (or with a zero floor). */
export function ratioToFloor(figure: Figure): number | undefined {
  if (!figure.floor || figure.floor.value === 0) return undefined
  return figure.value / figure.floor.value
}

/**
 * How far the figure is from its floor, in the terms its target uses: `+35.5 ms` for a
 * `floor-plus-at-most` target, `1.63×` otherwise; empty without a floor.
 */
export function distanceFromFloor(figure: Figure): string {
  if (!figure.floor) return ''
  if (figure.target?.kind === 'floor-plus-at-most') {
    const gap = figure.value - figure.floor.value
    return `${gap >= 0 ? '+' : '−'}${formatNumber(Math.abs(gap))} ${figure.unit}`
  }
  const ratio = ratioToFloor(figure)
  return ratio === undefined ? '' : `${ratio.toFixed(2)}×`
}

/** PASS or MISS for a figure with a target; undefined without one. */
export function verdict(figure: Figure): Verdict | undefined {
  const { target } = figure
  if (!target) return undefined
  const pass = (ok: boolean): Verdict => (ok ? 'PASS' : 'MISS')
  if (!Number.isFinite(figure.value)) return 'MISS'
  switch (target.kind) {
    case 'at-most':
      return pass(figure.value <= target.limit)
    case 'at-least':
      return pass(figure.value >= target.limit)
    case 'ratio-at-most':
    case 'ratio-at-least': {
      const ratio = ratioToFloor(figure)
      if (ratio === undefined) return 'MISS'
      return pass(target.kind === 'ratio-at-most' ? ratio <= target.limit : ratio >= target.limit)
    }
    case 'floor-plus-at-most':
      if (!figure.floor) return 'MISS'
      return pass(figure.value - figure.floor.value <= target.limit)
  }
}

/** Formats a number for a table: thousands grouped, about three significant digits below that. */
export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return String(value)
  const size = Math.abs(value)
  if (size >= 1000) return Math.round(value).toLocaleString('en-US')
  if (size >= 100) return value.toFixed(0)
  if (size >= 10) return value.toFixed(1)
  return value.toFixed(2)
}

// A limit is typed by a person: 25, not 25.0.
const formatLimit = (limit: number) =>
  Number.isInteger(limit) ? limit.toLocaleString('en-US') : String(limit)

/** The target in words: `≤ 1.5× floor`, `≥ 100,000 calls/s`, `≤ floor + 8 ms`. */
export function describeTarget(target: Target, unit: string): string {
  switch (target.kind) {
    case 'ratio-at-most':
      return `≤ ${target.limit}× floor`
    case 'ratio-at-least':
      return `≥ ${target.limit}× floor`
    case 'floor-plus-at-most':
      return `≤ floor + ${formatLimit(target.limit)} ${unit}`
    case 'at-most':
      return `≤ ${formatLimit(target.limit)} ${unit}`
    case 'at-least':
      return `≥ ${formatLimit(target.limit)} ${unit}`
  }
}

/** The p-th percentile (nearest rank) of `values`; NaN for none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]!
}

/** Builds a floor figure. */
export function floorFigure(
  id: string,
  label: string,
  value: number,
  unit: string,
  better: Direction,
): Figure {
  return { id, label, value, unit, better, isFloor: true }
}

/** Builds a figure held against `floor`. */
export function againstFloor(
  floor: Figure,
  fields: Omit<Figure, 'floor' | 'isFloor' | 'unit' | 'better'> & Partial<Pick<Figure, 'unit' | 'better'>>,
): Figure {
  return {
    unit: floor.unit,
    better: floor.better,
    ...fields,
    floor: { id: floor.id, value: floor.value, unit: floor.unit },
  }
}

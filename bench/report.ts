// The bench table: each figure with its floor, its ratio to the floor, its target and PASS/MISS, then a
// summary of every target. Lines are returned, not printed, so the caller chooses stdout or stderr.
import {
  describeTarget,
  distanceFromFloor,
  type Figure,
  formatNumber,
  type Outcome,
  type Skipped,
  verdict,
} from './figures.js'

export { percentile } from './figures.js'

/** One benchmark's outcome under its name. */
export interface Section extends Outcome {
  name: string
}

function cells(figure: Figure): string[] {
  const result = verdict(figure)
  return [
    figure.label,
    `${formatNumber(figure.value)} ${figure.unit}`,
    figure.isFloor ? '(floor)' : figure.floor ? `floor ${formatNumber(figure.floor.value)}` : '',
    distanceFromFloor(figure),
    figure.target ? `target ${describeTarget(figure.target, figure.unit)}` : '',
    result ?? '',
  ]
}

/** Pads rows of cells into columns; the columns at `right` are right-aligned (numbers). */
function align(rows: readonly string[][], right: readonly number[]): string[] {
  const widths: number[] = []
  for (const row of rows) {
    for (const [at, cell] of row.entries()) widths[at] = Math.max(widths[at] ?? 0, cell.length)
  }
  return rows.map((row) =>
    row
      .map((cell, at) => (right.includes(at) ? cell.padStart(widths[at]!) : cell.padEnd(widths[at]!)))
      .join('  ')
      .trimEnd(),
  )
}

function skippedLine(skip: Skipped): string {
  return `${skip.label}: ${skip.failed ? 'FAILED' : 'skipped'} (${skip.reason})`
}

/** The table for every section, each under its name. */
export function formatSections(sections: readonly Section[]): string[] {
  const lines: string[] = []
  for (const section of sections) {
    lines.push(`── ${section.name}`)
    lines.push(...align(section.figures.map(cells), [1, 3]).map((line) => `  ${line}`))
    lines.push(...section.skipped.map((skip) => `  ${skippedLine(skip)}`))
    lines.push('')
  }
  return lines
}

/** One line per target: PASS/MISS, the figure, its floor and the ratio that decided it. */
export function formatTargets(sections: readonly Section[]): string[] {
  const rows: string[][] = []
  for (const section of sections) {
    for (const figure of section.figures) {
      const result = verdict(figure)
      if (!result || !figure.target) continue
      rows.push([
        result,
        figure.label,
        `${formatNumber(figure.value)} ${figure.unit}`,
        figure.floor ? `floor ${formatNumber(figure.floor.value)} ${figure.floor.unit}` : '',
        distanceFromFloor(figure),
        describeTarget(figure.target, figure.unit),
      ])
    }
    for (const skip of section.skipped)
      rows.push([skip.failed ? 'FAIL' : 'SKIP', skip.label, '', '', '', skip.reason])
  }
  if (rows.length === 0) return []
  const passed = rows.filter((row) => row[0] === 'PASS').length
  const judged = rows.filter((row) => row[0] === 'PASS' || row[0] === 'MISS').length
  return [`Targets: ${passed} of ${judged} met`, ...align(rows, [2, 4]).map((line) => `  ${line}`)]
}

// `--compare FILE`: each figure of this run beside the same figure of a saved run, so a regression shows.
// Not a gate: on a shared machine a figure moves by tens of percent, which is why the ratio to the floor
// (measured in the same run, so the load cancels out) is compared too.
import { type Figure, formatNumber, ratioToFloor, type Verdict, verdict } from './figures.js'
import type { BenchResults } from './results.js'

/** Changes within this fraction are reported as noise, not as better or worse. */
export const NOISE_FRACTION = 0.1

export type Movement = 'better' | 'worse' | 'same'

/** One figure present in both runs. */
export interface ComparedFigure {
  id: string
  label: string
  unit: string
  saved: number
  current: number
  /** current / saved. */
  change: number
  movement: Movement
  /** Ratio to the floor in each run, when the figure has a floor. */
  savedRatio?: number
  currentRatio?: number
  /** Movement of the ratio to the floor: the better signal on a noisy machine. */
  ratioMovement?: Movement
  savedVerdict?: Verdict
  currentVerdict?: Verdict
}

export interface Comparison {
  figures: ComparedFigure[]
  /** Ids measured now but absent from the saved run, and the reverse. */
  onlyCurrent: string[]
  onlySaved: string[]
}

/** Whether going from `saved` to `current` is an improvement for a figure where `better` is preferred. */
export function movementOf(saved: number, current: number, better: Figure['better']): Movement {
  if (saved === 0 || !Number.isFinite(saved) || !Number.isFinite(current)) return 'same'
  const change = current / saved
  if (Math.abs(change - 1) <= NOISE_FRACTION) return 'same'
  const higher = change > 1
  return higher === (better === 'higher') ? 'better' : 'worse'
}

/** Matches this run's figures with a saved run's by id. */
export function compareRuns(current: readonly Figure[], saved: BenchResults): Comparison {
  const savedById = new Map(saved.figures.map((figure) => [figure.id, figure as Figure]))
  const currentIds = new Set(current.map((figure) => figure.id))
  const figures: ComparedFigure[] = []
  for (const figure of current) {
    const before = savedById.get(figure.id)
    if (!before) continue
    const compared: ComparedFigure = {
      id: figure.id,
      label: figure.label,
      unit: figure.unit,
      saved: before.value,
      current: figure.value,
      change: before.value === 0 ? Number.NaN : figure.value / before.value,
      movement: movementOf(before.value, figure.value, figure.better),
    }
    const savedRatio = ratioToFloor(before)
    const currentRatio = ratioToFloor(figure)
    if (savedRatio !== undefined && currentRatio !== undefined) {
      compared.savedRatio = savedRatio
      compared.currentRatio = currentRatio
      compared.ratioMovement = movementOf(savedRatio, currentRatio, figure.better)
    }
    const savedVerdict = verdict(before)
    const currentVerdict = verdict(figure)
    if (savedVerdict) compared.savedVerdict = savedVerdict
    if (currentVerdict) compared.currentVerdict = currentVerdict
    figures.push(compared)
  }
  return {
    figures,
    onlyCurrent: current.filter((figure) => !savedById.has(figure.id)).map((figure) => figure.id),
    onlySaved: saved.figures.filter((figure) => !currentIds.has(figure.id)).map((figure) => figure.id),
  }
}

const MARK: Record<Movement, string> = { better: 'better', worse: 'WORSE', same: '' }

/** The comparison as table lines. */
export function formatComparison(comparison: Comparison, savedName: string): string[] {
  const lines = [`Compared with ${savedName} (movements within ±${NOISE_FRACTION * 100}% count as noise):`]
  if (comparison.figures.length === 0) lines.push('  no figure in common')
  const width = Math.max(0, ...comparison.figures.map((figure) => figure.label.length))
  for (const figure of comparison.figures) {
    const values = `${formatNumber(figure.saved)} → ${formatNumber(figure.current)} ${figure.unit}`
    const change = `${Number.isFinite(figure.change) ? figure.change.toFixed(2) : '—'}×`
    let line = `  ${figure.label.padEnd(width)}  ${values.padStart(28)}  ${change.padStart(6)} ${MARK[figure.movement].padEnd(6)}`
    if (figure.savedRatio !== undefined && figure.currentRatio !== undefined) {
      const ratioMark = figure.ratioMovement ? MARK[figure.ratioMovement] : ''
      line += `  floor ratio ${figure.savedRatio.toFixed(2)} → ${figure.currentRatio.toFixed(2)} ${ratioMark}`
    }
    if (figure.savedVerdict && figure.currentVerdict && figure.savedVerdict !== figure.currentVerdict)
      line += `  ${figure.savedVerdict} → ${figure.currentVerdict}`
    lines.push(line.trimEnd())
  }
  if (comparison.onlyCurrent.length > 0) lines.push(`  new here: ${comparison.onlyCurrent.join(', ')}`)
  if (comparison.onlySaved.length > 0)
    lines.push(`  only in the saved run: ${comparison.onlySaved.join(', ')}`)
  return lines
}

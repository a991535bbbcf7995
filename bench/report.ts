/** One line of the benchmark table. */
export interface Row {
  name: string
  value: number
  unit: string
  /** This figure divided by its baseline from the same run. */
  ratio?: number
  baseline?: string
  target?: string
}

/** The p-th percentile (nearest rank) of `values`. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index]!
}

function format(value: number): string {
  if (value >= 1000) return Math.round(value).toLocaleString('en-US')
  if (value >= 100) return value.toFixed(0)
  if (value >= 10) return value.toFixed(1)
  return value.toFixed(2)
}

/** Prints the rows as an aligned table. */
export function printTable(rows: Row[]): void {
  const width = Math.max(...rows.map((row) => row.name.length))
  for (const row of rows) {
    const value = `${format(row.value)} ${row.unit}`.padStart(16)
    const ratio =
      row.ratio === undefined
        ? row.baseline
          ? `  (${row.baseline})`
          : ''
        : `  ${row.ratio.toFixed(2)}× baseline`
    const target = row.target ? `   target ${row.target}` : ''
    console.log(`${row.name.padEnd(width)}  ${value}${ratio}${target}`)
  }
}

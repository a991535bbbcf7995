/** How many active resources of each kind the process holds (`Timeout`, `FSReqCallback`, `TCPWrap`, …). */
export type ResourceCounts = Record<string, number>

/** Counts `process.getActiveResourcesInfo()` by kind. */
export function activeResourceCounts(): ResourceCounts {
  const counts: ResourceCounts = {}
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1
  return counts
}

/** The kinds that `after` holds more of than `before`, as `Timeout +1` strings; empty when none grew. */
export function grownResources(before: ResourceCounts, after: ResourceCounts): string[] {
  return Object.entries(after)
    .filter(([kind, count]) => count > (before[kind] ?? 0))
    .map(([kind, count]) => `${kind} +${count - (before[kind] ?? 0)}`)
}

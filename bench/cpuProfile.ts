// Host CPU profiles for `--profile`: the V8 sampling profiler through node:inspector, saved as a
// .cpuprofile (Chrome DevTools → Performance → load) and summarised as the functions with most own time.
import { writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'

/** The parts of a V8 .cpuprofile the summary reads. */
export interface CpuProfile {
  nodes: Array<{
    id: number
    callFrame: { functionName: string; url: string; lineNumber: number }
    hitCount?: number
  }>
  startTime: number
  endTime: number
  samples?: number[]
  /** µs before each sample. */
  timeDeltas?: number[]
}

/** One line of the summary: a function and its own (self) time. */
export interface HotFunction {
  name: string
  selfMs: number
  /** Share of the busy (non-idle) time. */
  percent: number
}

/** Starts the profiler in this process; `stop` writes the profile to `file` and returns it. */
export async function startHostProfile(): Promise<{ stop(file: string): Promise<CpuProfile> }> {
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  // 100 µs: a capability round trip is tens of µs, the default 1 ms would see few of its steps.
  await session.post('Profiler.setSamplingInterval', { interval: 100 })
  await session.post('Profiler.start')
  return {
    async stop(file) {
      const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile }
      session.disconnect()
      await writeFile(file, JSON.stringify(profile))
      return profile
    },
  }
}

/** `file:///…/node_modules/.pnpm/zod@4/node_modules/zod/v4/core.js` → `zod/v4/core.js`; repo paths relative. */
export function shortenUrl(url: string, root: string = process.cwd()): string {
  let path = url.replace(/^file:\/\//, '')
  const modules = path.lastIndexOf('/node_modules/')
  if (modules >= 0) path = path.slice(modules + '/node_modules/'.length)
  else if (path.startsWith(`${root}/`)) path = path.slice(root.length + 1)
  return path
}

/** The `top` functions by own time, idle time left out of the shares. */
export function summarizeCpuProfile(profile: CpuProfile, top = 15, root?: string): HotFunction[] {
  const byNode = new Map<number, number>()
  if (profile.samples && profile.timeDeltas && profile.samples.length === profile.timeDeltas.length) {
    profile.samples.forEach((node, at) => {
      byNode.set(node, (byNode.get(node) ?? 0) + Math.max(0, profile.timeDeltas![at]!))
    })
  } else {
    const hits = profile.nodes.reduce((sum, node) => sum + (node.hitCount ?? 0), 0)
    const interval = hits === 0 ? 0 : (profile.endTime - profile.startTime) / hits
    for (const node of profile.nodes) byNode.set(node.id, (node.hitCount ?? 0) * interval)
  }
  const byFunction = new Map<string, number>()
  let busy = 0
  for (const node of profile.nodes) {
    const micros = byNode.get(node.id) ?? 0
    const { functionName, url, lineNumber } = node.callFrame
    if (functionName === '(idle)') continue
    busy += micros
    // tsx-compiled modules report many functions at line 0; a ":1" there would only mislead.
    const line = lineNumber > 0 ? `:${lineNumber + 1}` : ''
    const where = url === '' ? '' : ` ${shortenUrl(url, root)}${line}`
    const name = `${functionName || '(anonymous)'}${where}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + micros)
  }
  return [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, micros]) => ({
      name,
      selfMs: micros / 1000,
      percent: busy === 0 ? 0 : (100 * micros) / busy,
    }))
}

/** The summary as indented lines. */
export function formatHotFunctions(hot: readonly HotFunction[]): string[] {
  return hot.map(
    (fn) => `    ${fn.percent.toFixed(1).padStart(5)}%  ${fn.selfMs.toFixed(1).padStart(8)} ms  ${fn.name}`,
  )
}

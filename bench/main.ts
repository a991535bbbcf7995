// `pnpm bench`: every Capsule figure next to a floor measured in the same run, with its target and
// PASS/MISS. `--help` lists the options (JSON output, comparison with a saved run, profiles).
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BenchUsageError, type CodecChoice, parseBenchArgs, selectBenchmarks, USAGE } from './benchArgs.js'
import { BENCHMARKS } from './benchmarks.js'
import { compareRuns, formatComparison } from './compare.js'
import { formatHotFunctions, startHostProfile, summarizeCpuProfile } from './cpuProfile.js'
import type { Figure, Skipped } from './figures.js'
import type { BenchCodec, BenchContext } from './registry.js'
import { formatSections, formatTargets, type Section } from './report.js'
import { buildResults, readBenchResults } from './results.js'

interface PythonFacts {
  executable: string
  version?: string
  hasMsgpack: boolean
}

function probePython(executable: string): PythonFacts | undefined {
  const probe = spawnSync(
    executable,
    [
      '-c',
      'import sys, importlib.util as u\nprint(sys.version.split()[0], int(u.find_spec("msgpack") is not None))',
    ],
    { encoding: 'utf8' },
  )
  if (probe.status !== 0) return undefined
  const [version, msgpack] = probe.stdout.trim().split(' ')
  return { executable, ...(version ? { version } : {}), hasMsgpack: msgpack === '1' }
}

/** The interpreter asked for, else CAPSULE_PYTHON, else one with msgpack, else python3. */
function pickPython(asked: string | undefined): PythonFacts {
  const explicit = asked ?? process.env.CAPSULE_PYTHON
  const candidates = explicit ? [explicit] : ['/usr/bin/python3', 'python3']
  const found = candidates.map(probePython).filter((facts) => facts !== undefined)
  const chosen = explicit ? found[0] : (found.find((facts) => facts.hasMsgpack) ?? found[0])
  if (!chosen) throw new BenchUsageError(`no usable Python among ${candidates.join(', ')}`)
  return chosen
}

function codecsFor(choice: CodecChoice, python: PythonFacts): BenchCodec[] {
  if (choice === 'json') return ['json']
  if (choice === 'msgpack') return ['msgpack']
  return python.hasMsgpack ? ['msgpack', 'json'] : ['json']
}

/**
 * Which code of the packages the run measures: their build (dist/, what users run; `pnpm bench` builds
 * first) or their TypeScript sources through tsx (`pnpm bench:source`, no build), where esbuild's keepNames
 * wraps every function the hot path creates in a `__name` call that no build has.
 */
function packagesMeasured(): 'dist' | 'source' {
  return fileURLToPath(import.meta.resolve('@capsule/core')).includes(`${sep}src${sep}`) ? 'source' : 'dist'
}

function gitFacts(): { commit: string; dirty: boolean } | undefined {
  const commit = spawnSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' })
  if (commit.status !== 0) return undefined
  const status = spawnSync('git', ['status', '--porcelain'], { encoding: 'utf8' })
  return { commit: commit.stdout.trim(), dirty: status.stdout.trim() !== '' }
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2))
  // With JSON on stdout, everything for people goes to stderr so the JSON stays parseable.
  const print =
    args.json === '-' ? (line: string) => console.error(line) : (line: string) => console.log(line)
  if (args.help) return print(USAGE)
  if (args.list) {
    for (const benchmark of BENCHMARKS) print(`${benchmark.name.padEnd(10)} ${benchmark.summary}`)
    return
  }
  const names = selectBenchmarks(
    BENCHMARKS.map((benchmark) => benchmark.name),
    args.only,
  )
  // Read the saved run first: a bad file should fail before minutes of measuring, not after.
  const saved = args.compare ? await readBenchResults(args.compare) : undefined
  const python = pickPython(args.python)
  const codecs = codecsFor(args.codec, python)
  if (args.profile) mkdirSync(args.profile, { recursive: true })
  const context: BenchContext = {
    python: python.executable,
    pythonHasMsgpack: python.hasMsgpack,
    codecs,
    iterations: (count, min = 1) => Math.max(min, Math.round(count * args.scale)),
    ...(args.profile ? { profileDir: args.profile } : {}),
    log: (line) => console.error(line),
  }
  const git = gitFacts()
  const packages = packagesMeasured()
  const loadAverageAtStart = os.loadavg()
  const cpus = os.cpus().length
  print(
    `Python ${python.version ?? '?'} (${python.executable}) for floors and figures alike; codecs ${codecs.join(', ')}; ` +
      `Node ${process.version}, ${process.platform} ${process.arch}; packages from ${packages}; ` +
      `git ${git ? `${git.commit.slice(0, 10)}${git.dirty ? ' (dirty)' : ''}` : 'unknown'}`,
  )
  if (args.scale !== 1 || args.profile)
    print('(--quick or --profile: figures are distorted, not measurements)')
  if (loadAverageAtStart[0]! > cpus)
    print(
      `(load average ${loadAverageAtStart[0]!.toFixed(1)} on ${cpus} CPUs: absolute figures will be low; ratios to floors less so)`,
    )
  print('')

  const startedAt = new Date()
  const sections: Section[] = []
  let failed = false
  for (const name of names) {
    const benchmark = BENCHMARKS.find((candidate) => candidate.name === name)!
    context.log(`running ${name}…`)
    const profile = args.profile ? await startHostProfile() : undefined
    try {
      sections.push({ name, ...(await benchmark.run(context)) })
    } catch (error) {
      failed = true
      const reason = error instanceof Error ? error.message : String(error)
      console.error(error)
      sections.push({ name, figures: [], skipped: [{ id: name, label: name, reason, failed: true }] })
    } finally {
      if (profile && args.profile) {
        const file = join(args.profile, `host-${name}.cpuprofile`)
        const hot = summarizeCpuProfile(await profile.stop(file))
        context.log(`host CPU profile (${name}) → ${file}; most own time:`)
        for (const line of formatHotFunctions(hot)) context.log(line)
      }
    }
  }

  for (const line of formatSections(sections)) print(line)
  for (const line of formatTargets(sections)) print(line)
  const figures: Figure[] = sections.flatMap((section) => section.figures)
  const skipped: Skipped[] = sections.flatMap((section) => section.skipped)
  if (saved && args.compare) {
    print('')
    for (const line of formatComparison(compareRuns(figures, saved), args.compare)) print(line)
  }
  if (args.json) {
    const results = buildResults(
      {
        startedAt,
        durationMs: Date.now() - startedAt.getTime(),
        loadAverageAtStart,
        ...(git ? { git } : {}),
        python: { executable: python.executable, ...(python.version ? { version: python.version } : {}) },
        packages,
        benchmarks: names,
        distorted: args.scale !== 1 || args.profile !== undefined,
      },
      figures,
      skipped,
    )
    const text = `${JSON.stringify(results, null, 2)}\n`
    if (args.json === '-') process.stdout.write(text)
    else {
      writeFileSync(args.json, text)
      print(`\nfigures written to ${args.json}`)
    }
  }
  if (failed) process.exitCode = 1
}

main().catch((error) => {
  if (error instanceof BenchUsageError) {
    console.error(error.message)
    process.exitCode = 2
    return
  }
  console.error(error)
  process.exitCode = 1
})

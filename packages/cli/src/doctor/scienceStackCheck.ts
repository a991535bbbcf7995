import type { DoctorCheck } from './doctorCheck.js'
import { hostImports, type ImportOutcome, SCIENTIFIC_PACKAGES } from './sandboxedRun.js'

/** One package's verdict: importable in both places, not installed, broken, or broken only in the sandbox. */
export type PackageVerdict = 'ok' | 'missing' | 'fails' | 'fails only in the sandbox'

/** Compares importing a package on the host and in the worker. */
export function packageVerdict(
  host: ImportOutcome | undefined,
  worker: ImportOutcome | undefined,
): PackageVerdict {
  if (host?.status === 'missing') return 'missing'
  if (host?.status !== 'ok') return 'fails'
  return worker?.status === 'ok' ? 'ok' : 'fails only in the sandbox'
}

/**
 * numpy, pandas and matplotlib, imported on the host and inside a real session under the settings (the
 * sandbox in force), so a package that is installed but cannot load in the sandbox is told apart.
 */
export const scienceStackCheck: DoctorCheck = {
  id: 'science',
  run: async (context) => {
    const [chosen] = await context.candidates()
    if (!chosen?.info) return { status: 'skip', summary: 'no usable interpreter (see python)', details: [] }
    const run = await context.sandboxedRun(chosen.python)
    const where = context.settings.sandboxInForce === 'bwrap' ? 'the sandbox' : 'the worker (sandbox none)'
    if (!run.started) {
      // What another interpreter that does start would give, so the fix elsewhere is worth knowing.
      const details: string[] = []
      for (const other of (await context.candidates()).slice(1)) {
        const otherRun = other.info ? await context.sandboxedRun(other.python) : undefined
        if (!other.info || !otherRun?.started) continue
        const verdicts = judgePackages(await hostImports(other.info.executable), otherRun.imports)
        details.push(...verdicts.map((verdict) => `with ${other.python}: ${verdict.line}`))
      }
      return {
        status: 'skip',
        summary: `no session with ${chosen.python} could start (${run.code}): see bwrap, userns, uid-drop`,
        details,
        fix: 'fix the failing sandbox check first',
      }
    }
    const verdicts = judgePackages(await hostImports(chosen.info.executable), run.imports)
    const details = verdicts.map((verdict) => verdict.line)
    const missing = verdicts.filter((v) => v.verdict === 'missing').map((v) => v.name)
    const broken = verdicts.filter((v) => v.verdict === 'fails').map((v) => v.name)
    const sandboxOnly = verdicts.filter((v) => v.verdict === 'fails only in the sandbox').map((v) => v.name)
    if (sandboxOnly.length > 0) {
      return {
        status: 'fail',
        summary: `${sandboxOnly.join(', ')} import on the host but fail in ${where}`,
        details,
        fix: sandboxFix(verdicts.map((verdict) => verdict.line).join('\n')),
      }
    }
    if (missing.length > 0 || broken.length > 0) {
      const install = chosen.info.executable.startsWith('/usr/')
        ? `apt-get install ${[...missing, ...broken].map((name) => `python3-${name}`).join(' ')}`
        : `${chosen.info.executable} -m pip install ${[...missing, ...broken].join(' ')}`
      return {
        status: 'warn',
        summary: `${[...missing, ...broken].join(', ')} ${missing.length + broken.length === 1 ? 'is' : 'are'} not importable with ${chosen.python} (optional)`,
        details,
        fix: `${install}, if your code needs them`,
      }
    }
    return { status: 'ok', summary: `numpy, pandas and matplotlib import in ${where}`, details }
  },
}

function judgePackages(
  host: Record<string, ImportOutcome>,
  worker: Record<string, ImportOutcome>,
): Array<{ name: string; verdict: PackageVerdict; line: string }> {
  return SCIENTIFIC_PACKAGES.map((name) => {
    const verdict = packageVerdict(host[name], worker[name])
    const inWorker = worker[name]
    const line =
      verdict === 'ok' && inWorker?.status === 'ok'
        ? `${name} ${inWorker.version}: ok`
        : `${name}: ${verdict}${message(verdict === 'fails only in the sandbox' ? inWorker : host[name])}`
    return { name, verdict, line }
  })
}

// An import error can be pages long (numpy's is): its last line says what went wrong.
function message(outcome: ImportOutcome | undefined): string {
  if (!outcome || outcome.status === 'ok') return ''
  const lines = outcome.message.split('\n').filter((line) => line.trim() !== '')
  return ` (${lines.length > 1 ? `${lines[0]} … ${lines.at(-1)?.trim()}` : (lines[0] ?? outcome.message)})`
}

// Debian and Ubuntu reach some files of these packages through /etc, which the sandbox does not show.
const ETC_NEEDS: ReadonlyArray<{ pattern: RegExp; source: string; why: string }> = [
  {
    pattern: /cannot open shared object file/,
    source: '/etc/alternatives',
    why: 'shared libraries such as libblas.so.3 are symlinks through /etc/alternatives',
  },
  {
    pattern: /Could not find matplotlibrc/,
    source: '/etc/matplotlibrc',
    why: "Debian's matplotlib reads its defaults from /etc/matplotlibrc",
  },
]

function sandboxFix(lines: string): string {
  const needs = ETC_NEEDS.filter((need) => need.pattern.test(lines))
  if (needs.length > 0) {
    const mounts = needs.map((need) => `{ "source": "${need.source}", "write": false }`).join(', ')
    return `the sandbox shows /usr but not /etc, and ${needs.map((need) => need.why).join('; ')}: show them read-only with "mounts": [${mounts}] in the config`
  }
  return 'the worker cannot load what the host can: check --memory (RLIMIT_AS), and that the packages live under a path the interpreter reports (sys.path)'
}

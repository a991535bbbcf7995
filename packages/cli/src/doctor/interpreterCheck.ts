import type { DoctorCheck } from './doctorCheck.js'
import type { InterpreterCandidate } from './doctorContext.js'

/** The interpreter sessions would use, where it came from, its version; and /usr/bin/python3 beside it. */
export const interpreterCheck: DoctorCheck = {
  id: 'python',
  run: async (context) => {
    const [chosen, ...others] = await context.candidates()
    if (!chosen) throw new Error('no interpreter to check')
    const details = [`asked for ${chosen.python} (${context.settings.pythonSource})`]
    details.push(...others.map((other) => `also here: ${describe(other)}`))
    if (!chosen.info) {
      const working = others.find((other) => other.info)
      return {
        status: 'fail',
        summary: `${chosen.python} cannot be used: ${chosen.error?.code ?? 'error'}`,
        details: [...details, chosen.error?.message ?? ''],
        fix: working
          ? `pass --python ${working.python} (or set CAPSULE_PYTHON / "python" in the config)`
          : 'install Python ≥ 3.9 (apt-get install python3) or point --python / CAPSULE_PYTHON at one',
      }
    }
    const { info } = chosen
    details.splice(
      1,
      0,
      `runs ${info.executable} (${info.implementation} ${info.version}, prefix ${info.prefix})`,
    )
    return { status: 'ok', summary: `Python ${info.version} at ${info.executable}`, details }
  },
}

function describe(candidate: InterpreterCandidate): string {
  return candidate.info
    ? `${candidate.python}: Python ${candidate.info.version} at ${candidate.info.executable}`
    : `${candidate.python}: ${candidate.error?.message ?? 'unusable'}`
}

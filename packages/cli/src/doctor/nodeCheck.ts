import type { DoctorCheck, DoctorFinding } from './doctorCheck.js'

/** The oldest Node the packages declare in `engines`. */
export const MIN_NODE_VERSION: readonly [number, number] = [20, 11]

// Majors whose support has ended (odd ones never had long-term support).
const END_OF_LIFE_MAJORS = new Set([20, 21, 23])
const RECOMMENDED = 'Node 22 or 24 (LTS)'

/** Judges a Node version string (`20.11.1`): below engines fails, an ended major warns. */
export function judgeNodeVersion(version: string): DoctorFinding {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  const details = [`node ${version} (${process.execPath})`, `Capsule needs ≥ ${MIN_NODE_VERSION.join('.')}`]
  if (major < MIN_NODE_VERSION[0] || (major === MIN_NODE_VERSION[0] && minor < MIN_NODE_VERSION[1])) {
    return {
      status: 'fail',
      summary: `Node ${version} is older than ${MIN_NODE_VERSION.join('.')}`,
      details,
      fix: `install ${RECOMMENDED}`,
    }
  }
  if (END_OF_LIFE_MAJORS.has(major)) {
    return {
      status: 'warn',
      summary: `Node ${version} works, but Node ${major} is past its end of life`,
      details: [...details, `Node ${major} gets no security fixes any more`],
      fix: `upgrade to ${RECOMMENDED}`,
    }
  }
  return { status: 'ok', summary: `Node ${version}`, details }
}

/** The Node running the CLI. */
export const nodeCheck: DoctorCheck = {
  id: 'node',
  run: async () => judgeNodeVersion(process.versions.node),
}

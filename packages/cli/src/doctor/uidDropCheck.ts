import type { DoctorCheck, DoctorFinding } from './doctorCheck.js'
import type { DoctorContext, InterpreterCandidate } from './doctorContext.js'
import type { SandboxedRun } from './sandboxedRun.js'

// SANDBOX_UNAVAILABLE reasons raised by the checks a Capsule makes before its first worker on a root host.
const UID_DROP_REASONS = new Set([
  'unreachable',
  'exposes-home',
  'uids-exhausted',
  'ids-unmapped',
  'lease-dir-unsafe',
  'lease-dir-unusable',
])

/**
 * On a root host, sandboxed workers must run as a leased unprivileged uid: this starts a real sandboxed
 * session with the chosen interpreter (and /usr/bin/python3), so the Capsule's own checks before the first
 * worker decide (lease directory, uid mapping, what the uid can reach), and reads the uid the host sees.
 */
export const uidDropCheck: DoctorCheck = {
  id: 'uid-drop',
  run: async (context) => {
    const uid = process.geteuid?.()
    if (!context.isRoot) {
      return {
        status: 'ok',
        summary: `not root: sandboxed workers run as this user (uid ${uid}), mapped to 1000 inside`,
        details: [],
      }
    }
    if (context.settings.sandboxInForce === 'none') {
      return {
        status: 'warn',
        summary: 'running as root without a sandbox: the worker runs as root, with root’s access',
        details: [
          `sandbox: ${context.settings.options.sandbox ?? 'auto'}, level ${context.settings.options.level ?? 'standard'}`,
        ],
        fix: 'use --sandbox bwrap (or auto below unrestricted): sandboxed workers then run as a leased unprivileged uid',
      }
    }
    return judgeRootRuns(context, await runAll(context))
  },
}

async function runAll(
  context: DoctorContext,
): Promise<Array<{ candidate: InterpreterCandidate; run: SandboxedRun | undefined }>> {
  const out = []
  for (const candidate of await context.candidates()) {
    out.push({ candidate, run: candidate.info ? await context.sandboxedRun(candidate.python) : undefined })
  }
  return out
}

function judgeRootRuns(
  context: DoctorContext,
  runs: Array<{ candidate: InterpreterCandidate; run: SandboxedRun | undefined }>,
): DoctorFinding {
  const user = context.settings.options.sandboxUser
  const details = [
    user?.uids
      ? `sandboxUser.uids: ${user.uids.first}–${user.uids.first + user.uids.count - 1}`
      : 'sandboxUser.uids: the default block (docs/sandbox.md)',
    `sandboxUser.gid: ${user?.gid ?? 'default'}`,
    `sandboxUser.leaseDir: ${user?.leaseDir ?? 'default'}`,
    ...runs.map(({ candidate, run }) => `${candidate.python}: ${describeRun(run)}`),
  ]
  const chosen = runs[0]
  if (!chosen?.run) {
    return { status: 'skip', summary: 'no usable interpreter to start a worker with (see python)', details }
  }
  const { run } = chosen
  if (run.started) {
    if (run.uid === 0) {
      return {
        status: 'fail',
        summary: 'the sandboxed worker runs as host root',
        details,
        fix: 'this must not happen: report it, and use sandbox none only knowingly',
      }
    }
    return {
      status: 'ok',
      summary: `sandboxed workers with ${chosen.candidate.python} run as uid ${run.uid ?? '?'} (gid ${run.gid ?? '?'}), not root`,
      details,
    }
  }
  if (run.code !== 'SANDBOX_UNAVAILABLE' || run.reason === undefined || !UID_DROP_REASONS.has(run.reason)) {
    return {
      status: 'skip',
      summary: `no sandboxed worker could start to try the uid drop: ${run.code}`,
      details,
      fix: 'fix the bwrap, userns or python check first',
    }
  }
  const working = runs.find(({ run: other }) => other?.started)
  const fix = fixOf(run.message) ?? run.hint ?? 'see docs/sandbox.md, "Fixing SANDBOX_UNAVAILABLE"'
  return {
    status: 'fail',
    summary: `the sandbox uid cannot run ${chosen.candidate.python} (${run.reason})`,
    details: [...details, run.message.split('. Fix: ')[0] ?? run.message],
    fix: working ? `pass --python ${working.candidate.python}, which works here; or ${fix}` : fix,
  }
}

function describeRun(run: SandboxedRun | undefined): string {
  if (!run) return 'not probed (the interpreter cannot be used)'
  if (run.started) return `a sandboxed worker started as host uid ${run.uid ?? '?'}, gid ${run.gid ?? '?'}`
  return `${run.code}${run.reason ? ` (${run.reason})` : ''}`
}

// prepareSandbox's messages end with "Fix: …"; that part alone is the fix.
function fixOf(message: string): string | undefined {
  const index = message.indexOf('Fix: ')
  return index === -1 ? undefined : message.slice(index + 'Fix: '.length)
}

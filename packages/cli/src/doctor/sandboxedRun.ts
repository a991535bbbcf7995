import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Capsule, type CapsuleOptions, isCapsuleError } from '@capsule/core'

/** The packages of the scientific stack the doctor imports, on the host and inside the sandbox. */
export const SCIENTIFIC_PACKAGES = ['numpy', 'pandas', 'matplotlib'] as const

/** What importing one package gave: its version, or that it is not installed, or another error. */
export type ImportOutcome =
  | { status: 'ok'; version: string }
  | { status: 'missing'; message: string }
  | { status: 'error'; message: string }

/** What starting one real session with an interpreter showed (sandboxed unless the sandbox is `none`). */
export type SandboxedRun =
  | {
      started: true
      python: string
      sandbox: 'bwrap' | 'none'
      /** The host uid and gid the worker's launcher ran as, read from /proc on the host. */
      uid: number | undefined
      gid: number | undefined
      imports: Record<string, ImportOutcome>
    }
  | {
      started: false
      python: string
      sandbox: 'bwrap' | 'none'
      code: string
      message: string
      /** `details.reason` of a SANDBOX_UNAVAILABLE (`unreachable`, `userns-blocked`, …). */
      reason: string | undefined
      hint: string | undefined
    }

// Prints one JSON object; a package that is not installed is told apart from one that breaks on import.
const IMPORT_SCRIPT = `
import importlib, json, sys
out = {}
for name in sys.argv[1:]:
    try:
        module = importlib.import_module(name)
        out[name] = {"status": "ok", "version": str(getattr(module, "__version__", "unknown"))}
    except ModuleNotFoundError as error:
        out[name] = {"status": "missing", "message": str(error)}
    except BaseException as error:
        out[name] = {"status": "error", "message": type(error).__name__ + ": " + str(error)}
print(json.dumps(out))
`

/**
 * Starts a real session with `python` under `options` (so everything a Capsule checks before its first
 * worker, prepareSandbox included, runs exactly as it would), reads which host uid the worker runs as, and
 * imports the scientific stack in it. Never throws: a start that fails is reported with its error code.
 */
export async function startSandboxedRun(
  options: CapsuleOptions,
  python: string,
  sandbox: 'bwrap' | 'none',
): Promise<SandboxedRun> {
  let capsule: Capsule | undefined
  try {
    capsule = new Capsule({ ...options, python, sandbox, level: 'sandbox', providers: [], pool: undefined })
    const session = await capsule.session()
    const pid = session.info().pid
    const ids = pid === undefined ? undefined : processIds(pid)
    const script = `import sys\nsys.argv = ['capsule-doctor', *${JSON.stringify(SCIENTIFIC_PACKAGES)}]\n${IMPORT_SCRIPT}`
    const result = await session.run(script)
    if (result.status !== 'ok') {
      const error = result.error ? `${result.error.ename}: ${result.error.evalue}` : result.status
      throw new Error(`the import cell did not finish: ${error}`)
    }
    return {
      started: true,
      python,
      sandbox,
      uid: ids?.uid,
      gid: ids?.gid,
      imports: JSON.parse(result.stdout.trim().split('\n').pop() ?? '{}'),
    }
  } catch (error) {
    const details = isCapsuleError(error) ? (error.details as Record<string, unknown> | undefined) : undefined
    return {
      started: false,
      python,
      sandbox,
      code: isCapsuleError(error) ? error.code : 'INTERNAL',
      message: error instanceof Error ? error.message : String(error),
      reason: typeof details?.reason === 'string' ? details.reason : undefined,
      hint: typeof details?.hint === 'string' ? details.hint : undefined,
    }
  } finally {
    await capsule?.close()
  }
}

/** Imports the scientific stack with `executable` directly on the host (isolated mode, like the probe). */
export function hostImports(executable: string): Promise<Record<string, ImportOutcome>> {
  return new Promise((resolve, reject) => {
    execFile(
      executable,
      ['-I', '-c', IMPORT_SCRIPT, ...SCIENTIFIC_PACKAGES],
      { timeout: 60_000, encoding: 'utf8' },
      (error, stdout, stderr) => {
        try {
          resolve(JSON.parse(stdout.trim().split('\n').pop() ?? ''))
        } catch {
          reject(
            new Error(`${executable} could not run the import check: ${(stderr || error?.message) ?? ''}`),
          )
        }
      },
    )
  })
}

// The real uid and gid of a process, from the Uid:/Gid: lines of /proc/<pid>/status.
function processIds(pid: number): { uid: number; gid: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1]
    const gid = /^Gid:\s+(\d+)/m.exec(status)?.[1]
    return uid && gid ? { uid: Number(uid), gid: Number(gid) } : undefined
  } catch {
    return undefined
  }
}

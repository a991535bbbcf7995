import { existsSync, realpathSync } from 'node:fs'
import {
  type CapsuleOptions,
  DEFAULT_LIMITS,
  type Limits,
  type PythonInterpreterInfo,
  probePythonInterpreter,
} from '@capsule/core'
import { type SandboxedRun, startSandboxedRun } from './sandboxedRun.js'

/** The interpreter the distribution ships, offered when the chosen one cannot be used. */
export const SYSTEM_PYTHON = '/usr/bin/python3'

/** What the doctor diagnoses: the options other commands would use, and where they came from. */
export interface DoctorSettings {
  /** The Capsule options built from the config file and flags (providers dropped). */
  options: CapsuleOptions
  /** The interpreter asked for (`python3`, a path). */
  python: string
  /** Where {@link python} came from: `--python`, the config file, `CAPSULE_PYTHON`, or the default. */
  pythonSource: string
  /** The sandbox a session would run in: what `auto` means at the level in force. */
  sandboxInForce: 'bwrap' | 'none'
  /** The session limits in force (defaults filled in). */
  limits: Limits
  /** The config file read, if any. */
  configFile: string | undefined
  /** Why the config file could not be used (the other checks then run on flags alone). */
  configError: string | undefined
}

/** One interpreter the doctor looks at: the chosen one first, then /usr/bin/python3 when it differs. */
export interface InterpreterCandidate {
  python: string
  /** `chosen` is what sessions would use; `system` is the alternative offered in fixes. */
  role: 'chosen' | 'system'
  info: PythonInterpreterInfo | undefined
  /** Why the probe failed, when it did. */
  error: { code: string; message: string } | undefined
}

/**
 * What the checks share: the settings, and facts that cost a process to learn (an interpreter probe, a
 * real sandboxed session), each learned once however many checks ask.
 */
export class DoctorContext {
  readonly settings: DoctorSettings
  #candidates: Promise<InterpreterCandidate[]> | undefined
  readonly #runs = new Map<string, Promise<SandboxedRun>>()

  constructor(settings: DoctorSettings) {
    this.settings = settings
  }

  /** Whether this process runs as root, so sandboxed workers get a leased unprivileged uid. */
  get isRoot(): boolean {
    return process.geteuid?.() === 0
  }

  /** The chosen interpreter, probed, and /usr/bin/python3 when it is another file. */
  candidates(): Promise<InterpreterCandidate[]> {
    this.#candidates ??= this.#probeCandidates()
    return this.#candidates
  }

  /** One real session with `python` under the settings (sandboxed unless the sandbox is `none`). */
  sandboxedRun(python: string): Promise<SandboxedRun> {
    let run = this.#runs.get(python)
    if (!run) {
      run = startSandboxedRun(this.settings.options, python, this.settings.sandboxInForce)
      this.#runs.set(python, run)
    }
    return run
  }

  async #probeCandidates(): Promise<InterpreterCandidate[]> {
    const chosen = await probe(this.settings.python, 'chosen')
    const candidates = [chosen]
    if (existsSync(SYSTEM_PYTHON) && !samePath(chosen.info?.executable, SYSTEM_PYTHON)) {
      if (this.settings.python !== SYSTEM_PYTHON) candidates.push(await probe(SYSTEM_PYTHON, 'system'))
    }
    return candidates
  }
}

/** The limits the settings put in force, with Capsule's defaults for the rest. */
export function limitsInForce(options: CapsuleOptions): Limits {
  return { ...DEFAULT_LIMITS, ...options.limits }
}

async function probe(python: string, role: InterpreterCandidate['role']): Promise<InterpreterCandidate> {
  try {
    return { python, role, info: await probePythonInterpreter(python), error: undefined }
  } catch (error) {
    const code = (error as { code?: unknown }).code
    return {
      python,
      role,
      info: undefined,
      error: { code: typeof code === 'string' ? code : 'INTERNAL', message: (error as Error).message },
    }
  }
}

function samePath(executable: string | undefined, other: string): boolean {
  if (executable === undefined) return false
  try {
    return realpathSync(executable) === realpathSync(other)
  } catch {
    return false
  }
}

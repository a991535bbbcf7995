import { spawn } from 'node:child_process'
import { CapsuleError } from '../errors.js'

/** The oldest Python the worker supports. */
export const MIN_PYTHON_VERSION: readonly [number, number] = [3, 9]

/** What a probe learned about an interpreter. */
export interface PythonInterpreterInfo {
  /** What the host was told to run (`python3`, a path). */
  requested: string
  /** The real executable (shims and symlinks resolved): what workers are spawned with. */
  executable: string
  version: string
  implementation: string
  /** `sys.prefix`, `sys.base_prefix`, `sys.exec_prefix`, `sys.base_exec_prefix`: what a sandbox binds, with `sysPath`. */
  prefix: string
  basePrefix: string
  execPrefix: string
  baseExecPrefix: string
  /** The interpreter's normal `sys.path` (site-packages included), handed to workers started with -S. */
  sysPath: string[]
  /** Whether `import msgpack` works (the fast codec). */
  hasMsgpack: boolean
}

const PROBE_TIMEOUT_MS = 15_000

// Runs with -I (isolated) but with site, to learn the sys.path a normal start would have.
const PROBE_SCRIPT = `
import sys, os, json
info = {"executable": os.path.realpath(sys.executable), "version": list(sys.version_info[:3]),
        "implementation": sys.implementation.name, "prefix": sys.prefix, "base_prefix": sys.base_prefix,
        "exec_prefix": sys.exec_prefix, "base_exec_prefix": sys.base_exec_prefix,
        "path": [p for p in sys.path if p and os.path.isabs(p)], "msgpack": False}
try:
    import msgpack
    info["msgpack"] = True
except Exception:
    pass
sys.stdout.write(json.dumps(info))
`

/**
 * Runs the interpreter once and reports its real path, version and what it can import.
 * A missing interpreter fails with PYTHON_NOT_FOUND, one older than 3.9 with PYTHON_UNSUPPORTED.
 */
export async function probePythonInterpreter(
  python: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PythonInterpreterInfo> {
  const { stdout, stderr, code, spawnError } = await run(python, ['-I', '-c', PROBE_SCRIPT], env)
  if (spawnError) {
    throw new CapsuleError(
      'PYTHON_NOT_FOUND',
      `cannot run the Python interpreter ${JSON.stringify(python)}: ${spawnError.message}. ` +
        'Set the `python` option or the CAPSULE_PYTHON environment variable to a Python 3.9+ interpreter.',
      { cause: spawnError, details: { python } },
    )
  }
  let parsed: {
    executable: string
    version: number[]
    implementation: string
    prefix: string
    base_prefix: string
    exec_prefix: string
    base_exec_prefix: string
    path: string[]
    msgpack: boolean
  }
  try {
    parsed = JSON.parse(stdout)
  } catch (cause) {
    throw new CapsuleError(
      code === 127 ? 'PYTHON_NOT_FOUND' : 'PYTHON_UNSUPPORTED',
      `${JSON.stringify(python)} is not a usable Python 3.9+ interpreter (exit ${code}): ${tail(stderr) || 'no output'}`,
      { cause, details: { python, exitCode: code } },
    )
  }
  const [major = 0, minor = 0, micro = 0] = parsed.version
  if (major < MIN_PYTHON_VERSION[0] || (major === MIN_PYTHON_VERSION[0] && minor < MIN_PYTHON_VERSION[1])) {
    throw new CapsuleError(
      'PYTHON_UNSUPPORTED',
      `${JSON.stringify(python)} is Python ${major}.${minor}.${micro}; Capsule needs Python ${MIN_PYTHON_VERSION.join('.')} or newer`,
      { details: { python, version: `${major}.${minor}.${micro}` } },
    )
  }
  return {
    requested: python,
    executable: parsed.executable,
    version: `${major}.${minor}.${micro}`,
    implementation: parsed.implementation,
    prefix: parsed.prefix,
    basePrefix: parsed.base_prefix,
    execPrefix: parsed.exec_prefix,
    baseExecPrefix: parsed.base_exec_prefix,
    sysPath: parsed.path,
    hasMsgpack: parsed.msgpack,
  }
}

function tail(text: string): string {
  const trimmed = text.trim()
  return trimmed.length > 500 ? `…${trimmed.slice(-500)}` : trimmed
}

function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ stdout: string; stderr: string; code: number | null; spawnError?: Error }> {
  return new Promise((resolve) => {
    // Our own timer, not spawn's `timeout`: Node leaves that one armed when the spawn fails (ENOENT),
    // which kept a host alive for PROBE_TIMEOUT_MS after a missing interpreter was reported.
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env })
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS)
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk
    })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      if (stderr.length < 64 * 1024) stderr += chunk
    })
    child.once('error', (spawnError) => {
      clearTimeout(timer)
      resolve({ stdout, stderr, code: null, spawnError })
    })
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ stdout, stderr, code })
    })
  })
}

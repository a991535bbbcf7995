import { workerRoot } from '@capsule/python-worker'
import type { CodecName } from '../protocol/codec.js'
import type { PythonInterpreterInfo } from './pythonInterpreter.js'
import type { WorkerCommand } from './workerProcess.js'

/** Host environment variables a worker inherits by default; everything else (tokens, keys) stays out. */
export const DEFAULT_ENV_ALLOWLIST = ['LANG', 'LC_ALL', 'LC_CTYPE', 'TZ', 'TERM'] as const

/**
 * The worker's PATH unless the host sets `env.PATH`. Not the host's: that names home directories (pyenv,
 * nvm, ~/.local/bin) the worker has no business seeing, and inside the sandbox they do not exist.
 */
export const DEFAULT_WORKER_PATH = '/usr/local/bin:/usr/bin:/bin'

// -I: ignore PYTHON* variables and user site; -S: skip site (its .pth processing costs tens of ms at start);
// the probe's sys.path is handed over instead so installed packages still import.
const BOOTSTRAP = 'import sys;sys.path.insert(0,sys.argv[1]);from capsule_worker.__main__ import main;main()'
const SEEDED_BOOTSTRAP = `import sys;sys.path[:]=[p for p in sys.path if p];${BOOTSTRAP.slice('import sys;'.length)}`

/** What a worker command is built from. */
export interface WorkerCommandOptions {
  interpreter: PythonInterpreterInfo
  codecs: readonly CodecName[]
  /** Extra variables, on top of the allowlisted host ones. */
  env?: Record<string, string>
  cwd?: string
}

/** The plain (unsandboxed) command that starts a worker with the given interpreter. */
export function buildWorkerCommand(options: WorkerCommandOptions): WorkerCommand {
  const env: Record<string, string> = { PATH: DEFAULT_WORKER_PATH }
  for (const name of DEFAULT_ENV_ALLOWLIST) {
    const value = process.env[name]
    if (value !== undefined) env[name] = value
  }
  Object.assign(env, options.env, {
    CAPSULE_FD_IN: '3',
    CAPSULE_FD_OUT: '4',
    CAPSULE_CODECS: options.codecs.join(','),
    CAPSULE_SYS_PATH: options.interpreter.sysPath.join(':'),
    PYTHONUNBUFFERED: '1',
  })
  // A fixed hash seed (durable and restored sessions) must reach Python through PYTHONHASHSEED, which -I
  // would ignore. Then -s -S stand in for -I: this env is built here from scratch, so every other PYTHON*
  // variable is dropped instead of ignored, and the bootstrap drops the '' (cwd) entry -I would not add.
  if (env.PYTHONHASHSEED !== undefined) {
    for (const name of Object.keys(env)) {
      if (name.startsWith('PYTHON') && name !== 'PYTHONHASHSEED' && name !== 'PYTHONUNBUFFERED')
        delete env[name]
    }
    return {
      command: options.interpreter.executable,
      args: ['-s', '-S', '-c', SEEDED_BOOTSTRAP, workerRoot],
      env,
      cwd: options.cwd,
    }
  }
  return {
    command: options.interpreter.executable,
    args: ['-I', '-S', '-c', BOOTSTRAP, workerRoot],
    env,
    cwd: options.cwd,
  }
}

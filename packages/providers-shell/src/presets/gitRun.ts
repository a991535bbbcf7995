import { CapabilityError, DEFAULT_HIDDEN_PATTERNS } from '@capsule/provider-sdk'
import {
  type HiddenMask,
  type HiddenPathPolicy,
  type HiddenScanOptions,
  splitHiddenDirectories,
} from '../hiddenPaths.js'
import type { ResolvedRoot } from '../pathGuard.js'
import type { RunOutcome } from '../runCommand.js'
import {
  GIT_CONFIG_LIST_ARGS,
  gitConfigEnvironment,
  gitConfigVerdict,
  gitHardeningPairs,
  trackedDirectories,
  trackedHiddenPathspecs,
} from './gitConfigPolicy.js'
import { gitEnvironment, hardenGitArgs } from './gitPreset.js'

/**
 * Names git must see in a sandbox that masks hidden paths: its repository (`.git`, a directory or a
 * gitfile) and the files of the work tree it reads for itself. Git never prints them; everything else
 * hidden stays masked for git too (`git grep --untracked` finds `.env` empty).
 */
export const GIT_OWN_NAMES: ReadonlySet<string> = new Set([
  '.git',
  '.gitignore',
  '.gitattributes',
  '.gitmodules',
  '.mailmap',
])

/** Runs a git preflight (in the same sandbox and masks as the command) and returns what it printed. */
export type GitPreflight = (
  args: readonly string[],
  env: Record<string, string>,
  masks: readonly HiddenMask[],
) => Promise<RunOutcome>

/** What a git run needs to know. */
export interface GitRunRequest {
  /** The user's git arguments, already checked by the preset. */
  args: readonly string[]
  cwd: string
  roots: readonly ResolvedRoot[]
  /** The masks found for this run (bubblewrap), or undefined without a sandbox. */
  masks: readonly HiddenMask[] | undefined
  hidden: HiddenPathPolicy
  scan: HiddenScanOptions
  preflight: GitPreflight
}

/** How to start the real git command. */
export interface GitRunPlan {
  args: string[]
  env: Record<string, string>
  masks: readonly HiddenMask[] | undefined
}

const denied = (message: string) => new CapabilityError('DENIED', message)

/**
 * Prepares one git command so that no program named by the repository's configuration runs: the
 * environment carries the fixed hardening configuration (every program key of git's documentation,
 * see gitConfigPolicy.ts); a preflight `git config --list` (which runs nothing) finds per-driver,
 * per-remote and per-token keys to override by name and configuration to refuse; and, in the sandbox,
 * a preflight `git ls-files` finds hidden directories holding tracked files, which are then masked
 * file by file rather than whole.
 */
export async function prepareGitRun(request: GitRunRequest): Promise<GitRunPlan> {
  const base = gitEnvironment(request.roots)
  const hardening = gitHardeningPairs()
  const masks = request.masks ?? []
  const listing = await request.preflight(
    GIT_CONFIG_LIST_ARGS,
    { ...base, ...gitConfigEnvironment(hardening) },
    masks,
  )
  if (listing.returncode !== 0 || listing.truncated) {
    throw denied(
      `could not read the repository configuration: ${listing.stderr.toString('utf8').trim().slice(0, 200)}`,
    )
  }
  const verdict = gitConfigVerdict(listing.stdout.toString('utf8'), request.cwd, request.roots)
  if ('refuse' in verdict) throw denied(verdict.refuse)
  const env = { ...base, ...gitConfigEnvironment([...hardening, ...verdict.overrides]) }
  let planned = request.masks
  if (planned?.some((m) => m.kind === 'dir')) {
    const tracked = await request.preflight(
      ['ls-files', '-z', '--cached', '--', ...trackedHiddenPathspecs(DEFAULT_HIDDEN_PATTERNS)],
      env,
      planned,
    )
    // Outside a work tree there is nothing tracked; a listing cut short keeps the whole-directory masks.
    if (tracked.returncode === 0 && !tracked.truncated) {
      const dirs = trackedDirectories(tracked.stdout.toString('utf8'), request.cwd)
      if (dirs.size > 0) {
        planned = await splitHiddenDirectories(planned, request.roots, request.hidden, {
          ...request.scan,
          descendInto: (dir) => dirs.has(dir),
        })
      }
    }
  }
  return { args: hardenGitArgs(request.args), env, masks: planned }
}

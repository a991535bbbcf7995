import type { Dirent } from 'node:fs'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { CapabilityError, DEFAULT_HIDDEN_PATTERNS } from '@capsule/provider-sdk'
import { Minimatch, type MinimatchOptions } from 'minimatch'
import { isInside, type ResolvedRoot } from './pathGuard.js'

/** What a path names, for the rules: allowHidden globs match directories as prefixes of what they may hold. */
export type HiddenPathKind = 'file' | 'dir'

// The files provider's options, so the two providers agree on every path: dot: true lets an opted-in
// glob's wildcards reach dot files; hidden names match case-insensitively.
const GLOB_OPTIONS: MinimatchOptions = { dot: true, nonegate: true, nocomment: true }
const HIDDEN_OPTIONS: MinimatchOptions = { ...GLOB_OPTIONS, nocase: true }
const hiddenNames = DEFAULT_HIDDEN_PATTERNS.map((pattern) => new Minimatch(pattern, HIDDEN_OPTIONS))

/**
 * The hidden-path rule of the files provider, for root-relative POSIX paths: a path is hidden when any
 * of its components matches one of the SDK's DEFAULT_HIDDEN_PATTERNS (`.env`, `.git`, `*.pem`…) and no
 * `allowHidden` glob matches it (a directory also when a glob could match something below it).
 */
export class HiddenPathPolicy {
  readonly #allowHidden: readonly Minimatch[]

  constructor(allowHidden: readonly string[] = []) {
    this.#allowHidden = allowHidden.map((glob) => new Minimatch(glob, GLOB_OPTIONS))
  }

  /** Whether one path component is a hidden name. */
  static isHiddenName(name: string): boolean {
    return hiddenNames.some((glob) => glob.match(name))
  }

  /** Whether `relPath` (root-relative, `/`-separated, `''` for the root) is hidden as a `kind`. */
  isHidden(relPath: string, kind: HiddenPathKind): boolean {
    if (relPath === '') return false
    if (!relPath.split('/').some((component) => HiddenPathPolicy.isHiddenName(component))) return false
    return !this.#allowHidden.some(
      (glob) => glob.match(relPath) || (kind === 'dir' && glob.match(relPath, true)),
    )
  }

  /**
   * Whether the real absolute path `realPath` is hidden in the root that holds it (the innermost, as
   * the sandbox binds nested roots over their parents). Paths outside every root are not this rule's
   * business. Unknown kinds count as files: a directory is only ever less hidden than a file.
   */
  hides(realPath: string, roots: readonly ResolvedRoot[], kind: HiddenPathKind = 'file'): boolean {
    const root = [...roots]
      .filter((r) => isInside(realPath, r.path))
      .sort((a, b) => b.path.length - a.path.length)[0]
    if (root === undefined) return false
    return this.isHidden(path.relative(root.path, realPath).split(path.sep).join('/'), kind)
  }
}

/** One path the sandbox must not show: a file is replaced by an empty device, a directory by an empty one. */
export interface HiddenMask {
  /** Real absolute path inside a root. */
  path: string
  kind: HiddenPathKind
}

/** How a walk treats names the caller needs visible. */
export interface HiddenScanOptions {
  /** Cap on directory entries read over all roots; past it the run is refused with LIMIT_EXCEEDED. */
  maxEntries: number
  /**
   * Names left visible and not walked into, whatever the rules say (for git: its own `.git`,
   * `.gitignore`, `.gitattributes`…, which git must read and never prints).
   */
  exemptNames?: ReadonlySet<string>
}

/** How many directories are read at once by a walk: enough to hide disk latency, few enough to stay light. */
const SCAN_CONCURRENCY = 8

type Pending = { dir: string; rel: string }

/**
 * Walks every root (never following symlinks) and returns the hidden paths to mask, outermost first:
 * a hidden directory is masked whole unless an `allowHidden` glob could match below it or another root
 * lies below it; a hidden file (or FIFO, socket, device) is masked itself. Symlinks are left alone:
 * what they point to inside a root is masked in its own right, and what lies outside the roots does not
 * exist in the sandbox. Asynchronous, so a large tree does not stall the host's event loop.
 */
export async function findHiddenPaths(
  roots: readonly ResolvedRoot[],
  policy: HiddenPathPolicy,
  options: HiddenScanOptions,
): Promise<HiddenMask[]> {
  const starts = roots.map((root) => ({ dir: root.path, rel: '' }))
  return sortMasks(await walkForHidden(starts, roots, policy, options, () => false))
}

/**
 * Splits the directory masks for which `descendInto(path)` holds into masks of what they contain (files
 * one by one, subdirectories whole unless `descendInto` holds for them too). Git needs this for hidden
 * directories holding tracked files: masked whole they would look deleted, and `git add -A` would
 * record it; masked file by file, git sees files it cannot read and refuses to stage them.
 */
export async function splitHiddenDirectories(
  masks: readonly HiddenMask[],
  roots: readonly ResolvedRoot[],
  policy: HiddenPathPolicy,
  options: HiddenScanOptions & { descendInto: (realPath: string) => boolean },
): Promise<HiddenMask[]> {
  const kept = masks.filter((m) => m.kind === 'file' || !options.descendInto(m.path))
  const starts = masks
    .filter((m) => m.kind === 'dir' && options.descendInto(m.path))
    .map((m) => ({ dir: m.path, rel: relativeToRoot(m.path, roots) }))
  if (starts.length === 0) return [...masks]
  return sortMasks([...kept, ...(await walkForHidden(starts, roots, policy, options, options.descendInto))])
}

function relativeToRoot(realPath: string, roots: readonly ResolvedRoot[]): string {
  const root = [...roots]
    .filter((r) => isInside(realPath, r.path))
    .sort((a, b) => b.path.length - a.path.length)[0]!
  return path.relative(root.path, realPath).split(path.sep).join('/')
}

function sortMasks(masks: HiddenMask[]): HiddenMask[] {
  return masks.sort((a, b) => a.path.length - b.path.length || a.path.localeCompare(b.path))
}

async function walkForHidden(
  starts: readonly Pending[],
  roots: readonly ResolvedRoot[],
  policy: HiddenPathPolicy,
  options: HiddenScanOptions,
  descendInto: (realPath: string) => boolean,
): Promise<HiddenMask[]> {
  const masks: HiddenMask[] = []
  const rootPaths = roots.map((r) => r.path)
  let entries = 0
  const readOne = async ({ dir, rel }: Pending, next: Pending[]) => {
    let dirents: Dirent[]
    try {
      dirents = await readdir(dir, { withFileTypes: true })
    } catch {
      // Unreadable here means unreadable in the sandbox too (same files, same or fewer rights).
      return
    }
    entries += dirents.length
    if (entries > options.maxEntries) {
      throw new CapabilityError(
        'LIMIT_EXCEEDED',
        `the roots hold more than ${options.maxEntries} entries to check for hidden files (maxHiddenScanEntries)`,
      )
    }
    for (const dirent of dirents) {
      const full = path.join(dir, dirent.name)
      const relPath = rel === '' ? dirent.name : `${rel}/${dirent.name}`
      // A root nested in another is walked on its own, relative to itself, as the sandbox binds it.
      if (dirent.isSymbolicLink() || options.exemptNames?.has(dirent.name) || rootPaths.includes(full))
        continue
      if (!dirent.isDirectory()) {
        if (policy.isHidden(relPath, 'file')) masks.push({ path: full, kind: 'file' })
        continue
      }
      const maskWhole =
        policy.isHidden(relPath, 'dir') && !rootPaths.some((p) => isInside(p, full)) && !descendInto(full)
      if (maskWhole) masks.push({ path: full, kind: 'dir' })
      else next.push({ dir: full, rel: relPath })
    }
  }
  // Breadth first, a few directories at a time.
  let level = [...starts]
  while (level.length > 0) {
    const next: Pending[] = []
    for (let i = 0; i < level.length; i += SCAN_CONCURRENCY)
      await Promise.all(level.slice(i, i + SCAN_CONCURRENCY).map((pending) => readOne(pending, next)))
    level = next
  }
  return masks
}

/**
 * bubblewrap arguments that mask `masks`, to follow the roots' binds: each file is replaced by a
 * read-only bind of /dev/null (reads are empty; git refuses to stage it rather than record a change),
 * each directory by an empty read-only tmpfs.
 */
export function hiddenMaskArgs(masks: readonly HiddenMask[]): string[] {
  return masks.flatMap((mask) =>
    mask.kind === 'file'
      ? ['--ro-bind', '/dev/null', mask.path]
      : ['--tmpfs', mask.path, '--remount-ro', mask.path],
  )
}

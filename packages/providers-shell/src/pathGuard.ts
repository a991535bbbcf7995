import { lstatSync, realpathSync } from 'node:fs'
import path from 'node:path'

/** A configured root after resolution: its real path. */
export interface ResolvedRoot {
  /** Real absolute path (symlinks resolved at configuration). */
  path: string
  write: boolean
}

/** Whether `candidate` is `dir` or below it (both absolute, normalised). */
export function isInside(candidate: string, dir: string): boolean {
  if (candidate === dir) return true
  const prefix = dir.endsWith(path.sep) ? dir : dir + path.sep
  return candidate.startsWith(prefix)
}

/** The root containing `realPath`, or undefined. */
export function rootOf(realPath: string, roots: readonly ResolvedRoot[]): ResolvedRoot | undefined {
  return roots.find((root) => isInside(realPath, root.path))
}

/**
 * Resolves `target` (relative to `base`) the way the kernel would: symlinks followed for the part that
 * exists, the rest appended lexically. A dangling symlink gives undefined, because what it names is
 * wherever it points. Errors other than "does not exist" also give undefined.
 */
export function realpathLenient(target: string, base: string): string | undefined {
  let existing = path.resolve(base, target)
  const rest: string[] = []
  for (;;) {
    try {
      const real = realpathSync(existing)
      return rest.length === 0 ? real : path.join(real, ...rest.reverse())
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || isLink(existing)) return undefined
      const parent = path.dirname(existing)
      if (parent === existing) return undefined
      rest.push(path.basename(existing))
      existing = parent
    }
  }
}

function isLink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink()
  } catch {
    return false
  }
}

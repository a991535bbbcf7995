import { DEFAULT_HIDDEN_PATTERNS } from '@capsule/provider-sdk'
import { Minimatch, type MinimatchOptions } from 'minimatch'

// The default hidden patterns live in the SDK, shared with the shell provider (which masks them).
export { DEFAULT_HIDDEN_PATTERNS }

/** What a path names, for the rules: allow globs treat directories as prefixes of what they may hold. */
export type PathKind = 'file' | 'dir'

/** Why a path was refused by the rules. */
export type PolicyRefusal = 'denied' | 'hidden' | 'not-allowed'

/** The glob rules of one root. */
export interface PathPolicyRules {
  /** When set, only paths matching one of these globs are reachable. */
  allow?: readonly string[] | undefined
  deny: readonly string[]
  /** Globs that opt hidden paths back in. */
  allowHidden: readonly string[]
}

// dot: true so a glob's wildcards reach dot files once they are opted in; hiding is a separate rule.
const GLOB_OPTIONS: MinimatchOptions = { dot: true, nonegate: true, nocomment: true }
const HIDDEN_OPTIONS: MinimatchOptions = { ...GLOB_OPTIONS, nocase: true }
const hiddenMatchers = DEFAULT_HIDDEN_PATTERNS.map((pattern) => new Minimatch(pattern, HIDDEN_OPTIONS))

/**
 * The allow/deny/hidden rules of one root, applied to root-relative POSIX paths (`a/b.txt`, `''` for the
 * root itself). Deny wins: a path is refused when it or any ancestor matches a deny glob; when any
 * component is hidden and no `allowHidden` glob matches it; or when an allow list exists and no allow glob
 * matches it. Directories match allow and allowHidden globs as prefixes (minimatch `partial`), so
 * `src/**\/*.py` lets you list `src` and `src/pkg`.
 */
export class PathPolicy {
  readonly #allow: readonly Minimatch[] | undefined
  readonly #deny: readonly Minimatch[]
  readonly #allowHidden: readonly Minimatch[]

  constructor(rules: PathPolicyRules) {
    this.#allow = rules.allow?.map((glob) => new Minimatch(glob, GLOB_OPTIONS))
    this.#deny = rules.deny.map((glob) => new Minimatch(glob, GLOB_OPTIONS))
    this.#allowHidden = rules.allowHidden.map((glob) => new Minimatch(glob, GLOB_OPTIONS))
  }

  /** Returns why `relPath` is refused as a `kind`, or undefined when the rules let it through. */
  check(relPath: string, kind: PathKind): PolicyRefusal | undefined {
    // The root itself is always reachable: refusing it would make the root unusable.
    if (relPath === '') return undefined
    const components = relPath.split('/')
    for (let end = 1; end <= components.length; end++) {
      const prefix = components.slice(0, end).join('/')
      if (this.#deny.some((glob) => glob.match(prefix))) return 'denied'
    }
    const hidden = components.some((component) => hiddenMatchers.some((glob) => glob.match(component)))
    if (hidden && !matchesAny(this.#allowHidden, relPath, kind)) return 'hidden'
    if (this.#allow !== undefined && !matchesAny(this.#allow, relPath, kind)) return 'not-allowed'
    return undefined
  }

  /** The first deny glob that refuses `relPath` or one of its ancestors, as written in the options. */
  deniedBy(relPath: string): string | undefined {
    const components = relPath.split('/')
    for (let end = 1; end <= components.length; end++) {
      const prefix = components.slice(0, end).join('/')
      const glob = this.#deny.find((candidate) => candidate.match(prefix))
      if (glob) return glob.pattern
    }
    return undefined
  }

  /** Like {@link check} when the kind is not known yet: refused only if refused as both file and dir. */
  checkAny(relPath: string): PolicyRefusal | undefined {
    const asFile = this.check(relPath, 'file')
    if (asFile === undefined) return undefined
    return this.check(relPath, 'dir') === undefined ? undefined : asFile
  }
}

function matchesAny(globs: readonly Minimatch[], relPath: string, kind: PathKind): boolean {
  return globs.some((glob) => glob.match(relPath) || (kind === 'dir' && glob.match(relPath, true)))
}

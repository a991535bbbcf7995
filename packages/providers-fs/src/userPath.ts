import path from 'node:path'
import { CapabilityError } from '@capsule/provider-sdk'
import { denied, quote } from './fsErrors.js'
import type { ResolvedFsOptions, ResolvedRoot } from './fsProviderOptions.js'
import type { PathKind, PolicyRefusal } from './pathPolicy.js'

/**
 * Linux PATH_MAX: the longest path the kernel resolves, in bytes, counting the terminating NUL. Every
 * opened descriptor is verified by reading its real path back from /proc, which fails past this length,
 * so the whole host path (root included) must fit, not only the part Python wrote.
 */
export const PATH_MAX_BYTES = 4096
/** Linux NAME_MAX: the longest name of one path component, in bytes. */
export const NAME_MAX_BYTES = 255

// A lone surrogate cannot be encoded as a file name, and would not round-trip through the fd check.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

const ROOT_PREFIX = /^([A-Za-z_][A-Za-z0-9_-]*):(.*)$/s

/** A path from Python, checked lexically and tied to a root. Nothing on disk has been touched yet. */
export interface UserPath {
  readonly root: ResolvedRoot
  /** Normalised root-relative POSIX path; `''` is the root itself. Never absolute, never contains `..`. */
  readonly relPath: string
  /** `relPath` split on `/`; empty for the root itself. */
  readonly components: readonly string[]
  /** How the path is shown back to Python: `relPath` (or `.`), prefixed `name:` outside the default root. */
  readonly display: string
}

/**
 * Parses a path given by Python. `name:rest` addresses the root called `name`; any other path is
 * relative to the first (default) root — write `./a:b` for a file whose name has a colon in it. Refuses
 * NUL bytes, absolute paths and `..` that would leave the root (DENIED), and unknown root names,
 * malformed strings and paths too long for the operating system (INVALID_ARGUMENT, see
 * {@link assertPathFits}) — all before anything on disk is touched.
 */
export function parseUserPath(raw: string, options: ResolvedFsOptions): UserPath {
  if (raw.includes('\0')) throw denied('paths must not contain NUL bytes')
  if (LONE_SURROGATE.test(raw))
    throw new CapabilityError('INVALID_ARGUMENT', 'the path is not a well-formed string')
  const rawBytes = Buffer.byteLength(raw, 'utf8')
  if (rawBytes >= PATH_MAX_BYTES) {
    throw pathTooLong(`the path is ${rawBytes} bytes long; PATH_MAX is ${PATH_MAX_BYTES} bytes`, {
      limit: 'PATH_MAX',
      maxBytes: PATH_MAX_BYTES - 1,
      bytes: rawBytes,
    })
  }
  let root = options.roots[0]!
  let rest = raw
  const prefixed = ROOT_PREFIX.exec(raw)
  if (prefixed !== null) {
    const named = options.roots.find((candidate) => candidate.name === prefixed[1])
    if (named === undefined) {
      const names = options.roots.flatMap((candidate) =>
        candidate.name === undefined ? [] : [candidate.name],
      )
      throw new CapabilityError(
        'INVALID_ARGUMENT',
        `${quote(raw)} names an unknown root ${quote(prefixed[1]!)} (roots: ${names.join(', ') || 'none named'}; write ./${prefixed[1]}:… for a file name with a colon)`,
      )
    }
    root = named
    rest = prefixed[2]!
  }
  if (rest.startsWith('/'))
    throw denied(`${quote(raw)}: absolute paths are denied; paths are relative to a root`)
  const normalised = path.posix.normalize(rest === '' ? '.' : rest)
  if (normalised === '..' || normalised.startsWith('../')) throw denied(`${quote(raw)} leaves the root`)
  const relPath = normalised === '.' || normalised === './' ? '' : normalised.replace(/\/+$/, '')
  const components = relPath === '' ? [] : relPath.split('/')
  const target = { root, relPath, components, display: displayPath(root, relPath) }
  for (const component of components) {
    const bytes = Buffer.byteLength(component, 'utf8')
    if (bytes > NAME_MAX_BYTES) {
      throw pathTooLong(
        `${quote(target.display)}: the name ${quote(component)} is ${bytes} bytes long; NAME_MAX is ${NAME_MAX_BYTES} bytes`,
        { limit: 'NAME_MAX', maxBytes: NAME_MAX_BYTES, bytes },
      )
    }
  }
  assertPathFits(root, relPath, target.display)
  return target
}

/**
 * Throws INVALID_ARGUMENT naming PATH_MAX unless the host path of `relPath` under `root` is shorter than
 * {@link PATH_MAX_BYTES}. Checked before any side effect: a walk that created directories one by one and
 * then failed to verify the deepest would leave them all behind. `what` names the path in the message.
 */
export function assertPathFits(root: ResolvedRoot, relPath: string, what: string): void {
  const bytes = Buffer.byteLength(relPath, 'utf8')
  const maxBytes = maxPathBytesUnder(root)
  if (bytes <= maxBytes) return
  throw pathTooLong(
    `${quote(what)} is ${bytes} bytes long, but this root leaves room for ${maxBytes} (PATH_MAX is ${PATH_MAX_BYTES} bytes for the whole host path)`,
    { limit: 'PATH_MAX', maxBytes, bytes },
  )
}

/**
 * The longest root-relative path, in bytes, whose host path under `root` stays shorter than PATH_MAX.
 * Errors report this room rather than the root's host path, which Python is never shown.
 */
export function maxPathBytesUnder(root: ResolvedRoot): number {
  // `join(root, 'x')` minus the `x`: the root and its separator (just `/` for the root directory).
  const prefixBytes = Buffer.byteLength(path.posix.join(root.realPath, 'x'), 'utf8') - 1
  return PATH_MAX_BYTES - 1 - prefixBytes
}

/** The INVALID_ARGUMENT a path past PATH_MAX or NAME_MAX gets, with the limit in its details. */
export function pathTooLong(
  message: string,
  details: { limit: 'PATH_MAX' | 'NAME_MAX'; maxBytes: number; bytes: number },
): CapabilityError {
  return new CapabilityError('INVALID_ARGUMENT', message, { details })
}

/** The display form of `relPath` under `root`, as {@link parseUserPath} would show it. */
export function displayPath(root: ResolvedRoot, relPath: string): string {
  const local = relPath === '' ? '.' : relPath
  return root.index === 0 || root.name === undefined ? local : `${root.name}:${local}`
}

/** Throws DENIED when the root's rules refuse `target` as a `kind` (`any`: refused as file and as dir). */
export function assertPathAllowed(target: UserPath, kind: PathKind | 'any'): void {
  const refusal =
    kind === 'any'
      ? target.root.policy.checkAny(target.relPath)
      : target.root.policy.check(target.relPath, kind)
  if (refusal !== undefined) throw refusalError(target, refusal)
}

/** The DENIED error for a rule refusal: it names the option of this root and a value that would allow it. */
function refusalError(target: UserPath, refusal: PolicyRefusal): CapabilityError {
  const root = `roots[${target.root.index}]`
  const glob = JSON.stringify(target.relPath)
  switch (refusal) {
    case 'denied': {
      const pattern = target.root.policy.deniedBy(target.relPath) ?? ''
      return denied(
        `${quote(target.display)} is denied by the fs provider's \`${root}.deny\` pattern ${JSON.stringify(pattern)} ` +
          '(deny wins; remove the pattern to allow it)',
        undefined,
        { rule: 'deny', option: `${root}.deny`, value: pattern },
      )
    }
    case 'hidden':
      return denied(
        `${quote(target.display)} is hidden (dot files and key files are refused); list ${glob} in the fs ` +
          "provider's `allowHidden` option to allow it",
        undefined,
        { rule: 'hidden', option: 'allowHidden', value: target.relPath },
      )
    case 'not-allowed':
      return denied(
        `${quote(target.display)} is not matched by the root's allow rules; add ${glob} (or a glob matching it) ` +
          `to the fs provider's \`${root}.allow\` option`,
        undefined,
        { rule: 'allow', option: `${root}.allow`, value: target.relPath },
      )
  }
}

/** Throws DENIED unless `target`'s root was configured with `write: true`. */
export function assertWritableRoot(target: UserPath): void {
  if (!target.root.write) {
    const root = `roots[${target.root.index}]`
    throw denied(
      `${quote(target.display)} is in a read-only root; set \`write: true\` on the fs provider's \`${root}\` to allow writes`,
      undefined,
      { rule: 'read-only', option: `${root}.write`, value: 'true' },
    )
  }
}

/** The parent directory of a non-root `target` and its last component. */
export function splitParent(target: UserPath): {
  parentComponents: readonly string[]
  parentRelPath: string
  name: string
} {
  const parentComponents = target.components.slice(0, -1)
  const name = target.components.at(-1)
  if (name === undefined) throw new Error('splitParent needs a path below the root')
  return { parentComponents, parentRelPath: parentComponents.join('/'), name }
}

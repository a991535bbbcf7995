// A TypeDoc plugin: names each entry-point module after its package (`@capsule/core`) instead of its path
// (`packages/core/src`), so docs/api reads like the import a host writes.
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { Converter, ReflectionKind } from 'typedoc'

/**
 * The import that reaches `file`: the `name` of the nearest package.json above it, plus the subpath whose
 * `@capsule/source` export is that file (`@capsule/core/sandbox`).
 */
function packageNameOf(file) {
  for (let dir = dirname(file); dir !== dirname(dir); dir = dirname(dir)) {
    let manifest
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'))
    } catch (error) {
      if (error.code !== 'ENOENT') throw error
      continue
    }
    const subpath = Object.entries(manifest.exports ?? {}).find(
      ([key, target]) => key !== '.' && join(dir, target?.['@capsule/source'] ?? '') === file,
    )?.[0]
    return subpath ? `${manifest.name}/${subpath.replace(/^\.\//, '')}` : manifest.name
  }
  throw new Error(`no package.json above ${file}`)
}

/** TypeDoc's plugin entry point. */
export function load(app) {
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Module)) return
    const file = context.getSymbolFromReflection(reflection)?.declarations?.[0]?.getSourceFile().fileName
    if (file) reflection.name = packageNameOf(file)
  })
}

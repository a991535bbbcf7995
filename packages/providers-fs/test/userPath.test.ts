import { describe, expect, test } from 'vitest'
import { resolveFsOptions } from '../src/fsProviderOptions.js'
import { parseUserPath } from '../src/userPath.js'
import { expectCapabilityError, makeWorkspace } from './support/workspace.js'

async function twoRoots() {
  const { root, outside } = await makeWorkspace()
  return resolveFsOptions({
    roots: [
      { path: root, name: 'ws' },
      { path: outside, name: 'data' },
    ],
  })
}

describe('parseUserPath', () => {
  test('normalises a path in the default root', async () => {
    const options = await twoRoots()
    expect(parseUserPath('a//b/./c/', options)).toMatchObject({
      relPath: 'a/b/c',
      components: ['a', 'b', 'c'],
      display: 'a/b/c',
    })
    expect(parseUserPath('.', options)).toMatchObject({ relPath: '', components: [], display: '.' })
    expect(parseUserPath('', options)).toMatchObject({ relPath: '', display: '.' })
    expect(parseUserPath('a/../b', options)).toMatchObject({ relPath: 'b' })
  })

  test('selects a root by its name prefix and shows the prefix back outside the default root', async () => {
    const options = await twoRoots()
    expect(parseUserPath('data:x/y', options)).toMatchObject({ relPath: 'x/y', display: 'data:x/y' })
    expect(parseUserPath('data:', options)).toMatchObject({ relPath: '', display: 'data:.' })
    expect(parseUserPath('ws:x', options)).toMatchObject({ relPath: 'x', display: 'x' })
    expect(parseUserPath('data:x', options).root.index).toBe(1)
  })

  test('refuses an unknown root name with the list of roots, and accepts ./ for colon file names', async () => {
    const options = await twoRoots()
    const error = await expectCapabilityError(
      Promise.reject(catchError(() => parseUserPath('nope:x', options))),
      'INVALID_ARGUMENT',
    )
    expect(error.message).toContain('ws, data')
    expect(parseUserPath('./nope:x', options)).toMatchObject({ relPath: 'nope:x' })
  })

  test('refuses lone surrogates and overlong paths as invalid arguments', async () => {
    const options = await twoRoots()
    await expectCapabilityError(
      Promise.reject(catchError(() => parseUserPath('a\uD800', options))),
      'INVALID_ARGUMENT',
    )
    await expectCapabilityError(
      Promise.reject(catchError(() => parseUserPath('a'.repeat(5000), options))),
      'INVALID_ARGUMENT',
    )
  })
})

function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

import { spawnSync } from 'node:child_process'
import { describe, expect, test } from 'vitest'
import { toPythonLiteral } from '../src/index.js'

const python = process.env.CAPSULE_PYTHON ?? 'python3'

/** Evaluates `expression` in a real Python and returns its repr. */
function pythonRepr(expression: string): string {
  const result = spawnSync(python, ['-c', 'import sys; print(repr(eval(sys.stdin.read())))'], {
    input: expression,
    encoding: 'utf8',
  })
  if (result.status !== 0) throw new Error(result.stderr)
  return result.stdout.trim()
}

describe('toPythonLiteral', () => {
  test('writes scalars as Python spells them', () => {
    expect(toPythonLiteral(null)).toBe('None')
    expect(toPythonLiteral(undefined)).toBe('None')
    expect(toPythonLiteral(true)).toBe('True')
    expect(toPythonLiteral(false)).toBe('False')
    expect(toPythonLiteral(42)).toBe('42')
    expect(toPythonLiteral(1.5)).toBe('1.5')
    expect(toPythonLiteral(12345678901234567890n)).toBe('12345678901234567890')
    expect(toPythonLiteral("it's")).toBe("'it\\'s'")
  })

  test('values survive a round trip through a real Python', () => {
    const value = {
      text: "quote ' backslash \\ newline \n tab \t nul \0 bell \x07 del \x7f é 🐍 \u2028",
      numbers: [0, -3, 2.5, 1e21, -0],
      flags: [true, false, null],
      nested: { list: [[], {}], 'key with space': 'v' },
      bytes: new Uint8Array([0, 39, 92, 65, 127, 128, 255]),
    }
    expect(pythonRepr(toPythonLiteral(value))).toBe(
      "{'text': \"quote ' backslash \\\\ newline \\n tab \\t nul \\x00 bell \\x07 del \\x7f é 🐍 \\u2028\", 'numbers': [0, -3, 2.5, 1e+21, -0.0], 'flags': [True, False, None], 'nested': {'list': [[], {}], 'key with space': 'v'}, 'bytes': b\"\\x00'\\\\A\\x7f\\x80\\xff\"}",
    )
  })

  test('writes non-finite numbers as floats', () => {
    expect(
      pythonRepr(toPythonLiteral([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])),
    ).toBe('[nan, inf, -inf]')
  })

  test('refuses values Python source cannot hold', () => {
    expect(() => toPythonLiteral(() => 1)).toThrow(TypeError)
    expect(() => toPythonLiteral(Symbol('s'))).toThrow(TypeError)
    expect(() => toPythonLiteral(new Date())).toThrow(/plain objects only \(got Date\)/)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => toPythonLiteral(cyclic)).toThrow(/cyclic/)
  })

  test('a value seen twice without a cycle is written twice', () => {
    const shared = [1]
    expect(toPythonLiteral([shared, shared])).toBe('[[1], [1]]')
  })
})

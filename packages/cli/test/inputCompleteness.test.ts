import { describe, expect, test } from 'vitest'
import { CompletenessChecker, heuristicCompleteness } from '../src/repl/inputCompleteness.js'

const cases: Array<[string, string]> = [
  ['1 + 1', 'complete'],
  ['if x:', 'incomplete'],
  ['if x:\n    y = 1', 'incomplete'],
  ['if x:\n    y = 1\n', 'complete'],
  ['values = [1,\n 2', 'incomplete'],
  ['values = [1,\n 2]', 'complete'],
  ['text = """a', 'incomplete'],
  ['text = """a\nb"""', 'complete'],
  ['total = 1 + \\', 'incomplete'],
  ['await asyncio.sleep(1)', 'complete'],
  ['d = {"a": 1}  # a dict: with a colon', 'complete'],
]

describe('cell completeness', () => {
  test.each(cases)('the fallback heuristic finds %j %s', (source, expected) => {
    expect(heuristicCompleteness(source)).toBe(expected)
  })

  test('the codeop checker agrees with Python, and flags syntax errors as invalid', async () => {
    const checker = new CompletenessChecker('python3')
    try {
      for (const [source, expected] of cases) expect(await checker.check(source), source).toBe(expected)
      expect(await checker.check('1 +* 2')).toBe('invalid')
      // Python's REPL needs a blank line even after a one-line compound statement.
      expect(await checker.check('while True: pass')).toBe('incomplete')
    } finally {
      checker.close()
    }
  })

  test('falls back to the heuristic when the interpreter cannot start', async () => {
    const checker = new CompletenessChecker('/nonexistent/python3')
    expect(await checker.check('if x:')).toBe('incomplete')
    checker.close()
  })
})

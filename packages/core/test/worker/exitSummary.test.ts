import { describe, expect, test } from 'vitest'
import { exitSummary } from '../../src/worker/exitSummary.js'

describe('exitSummary', () => {
  test('quotes a fatal signal from its first line, without the worker’s own frames', () => {
    const tail = [
      'some earlier noise',
      'Fatal Python error: Aborted',
      '',
      'Current thread 0x00007f (most recent call first):',
      '  File "<cell-3>", line 2 in <module>',
      '  File "/usr/lib/capsule_worker/executor.py", line 120 in run_cell',
      '  File "<frozen importlib._bootstrap>", line 241 in _call_with_frames_removed',
      '  File "/usr/lib/capsule_worker/__main__.py", line 9 in <module>',
    ].join('\n')
    const summary = exitSummary(tail)
    expect(summary.startsWith('Fatal Python error: Aborted')).toBe(true)
    expect(summary).toContain('File "<cell-3>", line 2')
    expect(summary).not.toContain('capsule_worker')
    expect(summary).not.toContain('importlib')
  })

  test('quotes the end of any other tail, bounded', () => {
    const tail = `${'x'.repeat(2000)}last words`
    expect(exitSummary(tail)).toHaveLength(500)
    expect(exitSummary(tail).endsWith('last words')).toBe(true)
  })
})

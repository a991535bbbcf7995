import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { workerEntryModule, workerRoot } from '@capsule/python-worker'
import { expect, test } from 'vitest'

test('workerRoot holds the worker and the public capsule module that hosts put on sys.path', () => {
  expect(existsSync(join(workerRoot, workerEntryModule, '__main__.py'))).toBe(true)
  expect(existsSync(join(workerRoot, 'capsule', '__init__.py'))).toBe(true)
})

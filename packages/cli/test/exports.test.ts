import { expect, test } from 'vitest'
import * as cli from '../src/index.js'

test('the public surface of @capsule/cli is exactly these exports', () => {
  expect(Object.keys(cli).sort()).toEqual([
    'CLI_VERSION',
    'CliError',
    'EXIT_FAILURE',
    'EXIT_INTERRUPTED',
    'EXIT_OK',
    'EXIT_USAGE',
    'main',
  ])
})

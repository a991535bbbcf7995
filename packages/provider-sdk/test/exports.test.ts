import { expect, test } from 'vitest'
import * as sdk from '../src/index.js'

// Third parties depend on this surface: it changes only on purpose.
test('the runtime exports of @capsule/provider-sdk are exactly these', () => {
  expect(Object.keys(sdk).sort()).toMatchInlineSnapshot(`
    [
      "BINARY_FORMAT",
      "CAPABILITY_ERROR_CODES",
      "CAPABILITY_NAME_PATTERN",
      "CapabilityError",
      "DEFAULT_HIDDEN_PATTERNS",
      "ProviderDefinitionError",
      "SECURITY_LEVELS",
      "SEMVER_PATTERN",
      "binary",
      "compareLevels",
      "defineCapability",
      "defineProvider",
      "explainZodIssue",
      "formatIssuePath",
      "formatZodIssue",
      "isCapabilityError",
      "isCapabilityErrorCode",
      "isSecurityLevel",
      "parseProviderOptions",
      "whenCancelled",
    ]
  `)
})

test('the SDK imports nothing heavy: no core, child_process or undici', async () => {
  const { readFileSync, readdirSync } = await import('node:fs')
  const dir = new URL('../src/', import.meta.url)
  for (const file of readdirSync(dir)) {
    const source = readFileSync(new URL(file, dir), 'utf8')
    const imports = [...source.matchAll(/from '([^']+)'/g)].map((match) => match[1])
    for (const specifier of imports) expect(specifier, `${file} imports ${specifier}`).toMatch(/^(\.\/|zod$)/)
  }
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
  expect(Object.keys(manifest.dependencies)).toEqual(['zod'])
})

import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { CapsuleError, isCapsuleError } from '@capsule/core'
import { defineProvider, ProviderDefinitionError, parseProviderOptions } from '@capsule/provider-sdk'
import { describe, expect, test } from 'vitest'
import { z } from 'zod'

const repo = path.resolve(import.meta.dirname, '../../../..')

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name)
    if (statSync(file).isDirectory()) yield* sources(file)
    else if (/\.ts$/.test(name) && !name.endsWith('.d.ts')) yield file
  }
}

const sourceDirs = [
  ...readdirSync(path.join(repo, 'packages')).map((name) => path.join(repo, 'packages', name, 'src')),
  path.join(repo, 'contract-tests', 'src'),
].filter((dir) => statSync(dir, { throwIfNoEntry: false })?.isDirectory())

// The message argument of an error constructor, after an optional code argument: `new CapsuleError('X', `…`)`.
const CONSTRUCTION =
  /(?:CapsuleError|CapabilityError|SandboxError|ProviderDefinitionError)\(\s*(?:'[A-Z_]+'\s*,\s*)?(['"`])([^'"`]{0,40})/g

describe('error messages', () => {
  test('no error message anywhere starts with a code (the code is in `code`, not repeated in the text)', () => {
    const offenders: string[] = []
    let scanned = 0
    for (const dir of sourceDirs) {
      for (const file of sources(dir)) {
        const text = readFileSync(file, 'utf8')
        for (const match of text.matchAll(CONSTRUCTION)) {
          scanned += 1
          if (/^[A-Z_]{4,}:/.test(match[2]!)) offenders.push(`${path.relative(repo, file)}: ${match[0]}`)
        }
      }
    }
    expect(scanned).toBeGreaterThan(100) // the scan found the constructions it is about
    expect(offenders).toEqual([])
  })

  test('the scan catches a message that starts with its code', () => {
    const sample = "new CapsuleError('LIMIT_EXCEEDED', `LIMIT_EXCEEDED: cpu — too much`)"
    const [match] = [...sample.matchAll(CONSTRUCTION)]
    expect(match?.[2]).toMatch(/^[A-Z_]{4,}:/)
  })
})

describe('start-up errors are one family', () => {
  test('a provider factory with a bad option throws an error `instanceof CapsuleError` (INVALID_OPTIONS)', () => {
    let caught: unknown
    try {
      // A factory as providers write them (fsProvider, httpProvider validate their options this way).
      const kvProvider = (options: unknown) =>
        parseProviderOptions('kvProvider', z.object({ max: z.number().int().min(1) }).strict(), options)
      kvProvider({ max: 0 })
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ProviderDefinitionError)
    expect(caught).toBeInstanceOf(CapsuleError)
    expect(isCapsuleError(caught, 'INVALID_OPTIONS')).toBe(true)
    expect((caught as CapsuleError).message).toMatch(/^kvProvider: options\.max /)
  })

  test('a malformed definition throws an error `instanceof CapsuleError` (INVALID_PROVIDER)', () => {
    let caught: unknown
    try {
      defineProvider({ name: 'kv', version: 'one', capabilities: [] })
    } catch (error) {
      caught = error
    }
    expect(isCapsuleError(caught, 'INVALID_PROVIDER')).toBe(true)
  })

  test('a plain Error is not a CapsuleError', () => {
    expect(new Error('INVALID_PROVIDER') instanceof CapsuleError).toBe(false)
  })
})

import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { CAPSULE_ERROR_CODES, CapsuleError, isCapsuleError } from '@capsule/core'
import {
  CAPABILITY_ERROR_CODES,
  defineProvider,
  ProviderDefinitionError,
  parseProviderOptions,
} from '@capsule/provider-sdk'
import ts from 'typescript'
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

const KNOWN_CODES = [...new Set<string>([...CAPSULE_ERROR_CODES, ...CAPABILITY_ERROR_CODES])]
const CODE_WORD = new RegExp(`(?<![\\w.])(${KNOWN_CODES.join('|')})(?![\\w.])`)

/**
 * The literal text of every error construction's message in `source`: the string and template parts of
 * each argument after an optional leading code (`new CapsuleError('X', `…${a}…`, { details })`), the
 * options object left out. Matches `new …Error(…)` and `…Error(…)` calls alike.
 */
function errorMessageTexts(file: string, source: string): { line: number; text: string }[] {
  const tree = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true)
  const found: { line: number; text: string }[] = []
  const collect = (node: ts.Node, line: number): void => {
    if (ts.isObjectLiteralExpression(node)) return
    if (
      ts.isStringLiteralLike(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    )
      if (!/^[A-Z_]+$/.test(node.text))
        // A bare code (`code === 127 ? 'PYTHON_NOT_FOUND' : …`) is a code argument, not message text.
        found.push({ line, text: node.text })
    ts.forEachChild(node, (child) => collect(child, line))
  }
  const visit = (node: ts.Node): void => {
    if (
      (ts.isNewExpression(node) || ts.isCallExpression(node)) &&
      /Error$/.test(node.expression.getText(tree))
    ) {
      const args = [...(node.arguments ?? [])]
      // A leading code argument is the code, not the message.
      if (args.length > 1 && ts.isStringLiteral(args[0]!) && /^[A-Z_]+$/.test(args[0].text)) args.shift()
      const line = tree.getLineAndCharacterOfPosition(node.getStart(tree)).line + 1
      for (const arg of args) collect(arg, line)
    }
    ts.forEachChild(node, visit)
  }
  visit(tree)
  return found
}

describe('error messages', () => {
  test('no error message anywhere names a code (the code is in `code`, not repeated in the text)', () => {
    const offenders: string[] = []
    let scanned = 0
    for (const dir of sourceDirs) {
      for (const file of sources(dir)) {
        for (const { line, text } of errorMessageTexts(file, readFileSync(file, 'utf8'))) {
          scanned += 1
          if (CODE_WORD.test(text) || /^[A-Z_]{4,}: /.test(text) || /\[E_[A-Z_]+\]/.test(text))
            offenders.push(`${path.relative(repo, file)}:${line}: ${JSON.stringify(text)}`)
        }
      }
    }
    expect(scanned).toBeGreaterThan(300) // the scan found the constructions it is about
    expect(offenders).toEqual([])
  })

  test('the scan catches a code at the start, in the middle or bracketed, and skips the code argument', () => {
    const sample = [
      "new CapsuleError('LIMIT_EXCEEDED', `LIMIT_EXCEEDED: cpu — too much`)",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text for the scanner, never evaluated
      "throw new CapabilityError('DENIED', `host ${host} refused (DENIED by policy)`, { details: { code: 'X' } })",
      "new Error('[E_BAD_THING] oops')",
      "new SandboxError('SANDBOX_UNAVAILABLE', 'bwrap is missing')",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text for the scanner, never evaluated
      "new CapsuleError(exit === 127 ? 'PYTHON_NOT_FOUND' : 'PYTHON_UNSUPPORTED', `no ${python}`)",
    ].join('\n')
    const texts = errorMessageTexts('sample.ts', sample).map((found) => found.text)
    expect(texts).toEqual([
      'LIMIT_EXCEEDED: cpu — too much',
      'host ',
      ' refused (DENIED by policy)',
      '[E_BAD_THING] oops',
      'bwrap is missing',
      'no ',
      '',
    ])
    expect(texts.filter((text) => CODE_WORD.test(text) || /\[E_[A-Z_]+\]/.test(text))).toHaveLength(3)
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

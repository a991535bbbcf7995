import { describe, expect, test } from 'vitest'
import { escapeUntrusted } from '../src/output/escapeUntrusted.js'

describe('escapeUntrusted', () => {
  test.each([
    ['a\nb', 'a\\nb'],
    ['a\r\nb\tc', 'a\\r\\nb\\tc'],
    ['\x00\x07\x08\x1f', '\\x00\\x07\\x08\\x1f'],
    ['\x1b[2J\x1b]0;title\x07', '\\x1b[2J\\x1b]0;title\\x07'],
    ['\x7f', '\\x7f'],
    ['\x85\x9b31m\x9d', '\\x85\\x9b31m\\x9d'],
    ['abc\u202edcba\u202c', 'abc\\u202edcba\\u202c'],
    [
      '\u061c\u200e\u200f\u202a\u202b\u202d\u2066\u2067\u2068\u2069',
      '\\u061c\\u200e\\u200f\\u202a\\u202b\\u202d\\u2066\\u2067\\u2068\\u2069',
    ],
    ['one\u2028two\u2029three', 'one\\u2028two\\u2029three'],
    ['lone \ud800 and \udfff', 'lone \\ud800 and \\udfff'],
  ])('shows %j as %j', (input, expected) => {
    expect(escapeUntrusted(input)).toBe(expected)
  })

  test('leaves printable text alone, backslashes, emoji sequences and other scripts included', () => {
    const text = 'C:\\temp\\n.txt · héllo · 日本語 · שלום · 👩‍💻 · 😀 · {"a":"\\u001b"}'
    expect(escapeUntrusted(text)).toBe(text)
  })

  test('keepNewlines keeps line breaks and tabs but still escapes carriage returns and sequences', () => {
    expect(escapeUntrusted('Traceback:\n\tline\r\x1b[2Kfake\u202e\n', { keepNewlines: true })).toBe(
      'Traceback:\n\tline\\r\\x1b[2Kfake\\u202e\n',
    )
  })
})

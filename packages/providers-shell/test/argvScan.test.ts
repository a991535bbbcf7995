import { describe, expect, test } from 'vitest'
import { checkFlags, matchesDenied, scanArgs } from '../src/argvScan.js'

describe('scanArgs', () => {
  test('splits a short cluster into one flag per letter', () => {
    expect(scanArgs(['-xO']).options.map((o) => o.flag)).toEqual(['-x', '-O'])
  })

  test('takes the rest of a cluster as the value of an option that has one', () => {
    expect(scanArgs(['-e-O'], { shortWithValue: 'e' }).options).toEqual([{ flag: '-e', value: '-O' }])
    expect(scanArgs(['-e', '-O'], { shortWithValue: 'e' }).options).toEqual([{ flag: '-e', value: '-O' }])
  })

  test('splits --name=value and reads the value of a long option from the next argument', () => {
    expect(scanArgs(['--pre=evil', '--regexp', 'x', 'file'], { longWithValue: ['--regexp'] })).toEqual({
      options: [
        { flag: '--pre', value: 'evil' },
        { flag: '--regexp', value: 'x' },
      ],
      operands: ['file'],
    })
  })

  test('treats everything after -- as operands', () => {
    expect(scanArgs(['-a', '--', '-O', '--pre=x'])).toEqual({
      options: [{ flag: '-a' }],
      operands: ['-O', '--pre=x'],
    })
  })
})

describe('matchesDenied', () => {
  test('refuses an unambiguous abbreviation of a denied long option', () => {
    expect(matchesDenied('--upload-p', ['--upload-pack'])).toBe('--upload-pack')
  })

  test('lets a real option that prefixes a denied one through when it is declared exact', () => {
    expect(matchesDenied('--text', ['--textconv'], ['--text'])).toBeUndefined()
    expect(matchesDenied('--text', ['--textconv'])).toBe('--textconv')
  })

  test('refuses options not on an allow list', () => {
    expect(checkFlags([{ flag: '-l' }, { flag: '-x' }], { allowFlags: ['-l'] })).toMatch(/-x/)
  })
})

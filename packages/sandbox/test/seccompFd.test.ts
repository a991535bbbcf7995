import { readSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { buildSeccompFilter, createSeccompSource, openDefaultSeccompFd, openSeccompFd } from '../src/index.js'

/** Reads a descriptor from its current offset to the end. */
function readAll(fd: number): Buffer {
  const chunks: Buffer[] = []
  const chunk = Buffer.alloc(7)
  for (let n = readSync(fd, chunk); n > 0; n = readSync(fd, chunk))
    chunks.push(Buffer.from(chunk.subarray(0, n)))
  return Buffer.concat(chunks)
}

const program = Buffer.from('a seccomp program, or any bytes')

describe('seccomp descriptors', () => {
  test('openSeccompFd gives a descriptor at the start of the program; one read drains it', () => {
    const seccomp = openSeccompFd(program)
    expect(readAll(seccomp.fd)).toEqual(program)
    expect(readAll(seccomp.fd)).toEqual(Buffer.alloc(0))
    seccomp.close()
    seccomp.close()
  })

  test('a source hands each spawn its own descriptor with its own offset, even after it is closed', () => {
    const source = createSeccompSource(program)
    const [a, b] = [source.open(), source.open()]
    expect(a.fd).not.toBe(b.fd)
    // Interleaved reads: one descriptor's progress does not move the other's.
    const first = Buffer.alloc(5)
    readSync(a.fd, first)
    expect(readAll(b.fd)).toEqual(program)
    expect(Buffer.concat([first, readAll(a.fd)])).toEqual(program)
    const c = source.open()
    source.close()
    expect(readAll(c.fd)).toEqual(program)
    expect(() => source.open()).toThrow(/closed/)
    for (const fd of [a, b, c]) fd.close()
  })

  test('openDefaultSeccompFd gives every spawn a descriptor of its own holding the whole default filter', () => {
    const filter = buildSeccompFilter()
    const [a, b] = [openDefaultSeccompFd(), openDefaultSeccompFd()]
    expect(a.fd).not.toBe(b.fd)
    expect(readAll(a.fd)).toEqual(filter)
    expect(readAll(b.fd)).toEqual(filter)
    a.close()
    b.close()
    const c = openDefaultSeccompFd()
    expect(readAll(c.fd)).toEqual(filter)
    c.close()
  })
})
